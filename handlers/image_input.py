"""The shared shape of handlers whose requests carry one image (as pytorch/serve's VisionHandler).

The image comes as raw bytes in any format PIL reads, as a multipart file, or as JSON with a
base64 `image`; the other fields come from the JSON or from multipart form fields
(handlers/image_io.py). `parse` checks the image against the model-config's `max_pixels` before
decoding it and hands it on as `image`: uint8 (3, H, W) at its own size.
"""

from typing import Any

from handlers.image_io import decode_image, image_request, image_tensor
from handlers.request_handler import JsonHandler, validate


class ImageInputHandler(JsonHandler):
    content = "image"

    def body_description(self) -> str:
        return (f"an image of at most {self.limits['max_pixels']} pixels in any format PIL reads: the raw "
                "bytes, a multipart file, or base64 in the JSON field `image`; the fields in the JSON or "
                "as multipart form fields")

    def parse(self, request: dict[str, Any]) -> dict[str, Any]:
        data, params = image_request(request)
        params = validate(params, self.fields)
        params["image"] = image_tensor(decode_image(data, self.limits["max_pixels"]))
        return params
