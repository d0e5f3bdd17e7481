"""A Python client for this project's TorchServe: one method per model, Python values back.

    from tsclient import Client
    client = Client()                      # the running `make serve`: config.properties, key_file.json
    client.bigram("the", length=30, seed=1)
    for event in client.diffusion_stream(num_samples=16): ...
"""

from tsclient.client import Client, Prediction, Preview, Progress, Result, ServerError

__all__ = ["Client", "Prediction", "Preview", "Progress", "Result", "ServerError"]
