"""A Python client for this project's TorchServe, built on what the server describes of each model.

    from tsclient import Client
    client = Client()                      # the running `make serve`: config.properties, key_file.json
    client.describe("bigram")              # ModelSchema: the fields, their types, ranges, defaults
    client.predict("bigram", start_word="the", length=30, seed=1)     # any model, by its fields
    client.bigram("the", length=30, seed=1)                           # a model's convenience method
    for event in client.diffusion_stream(num_samples=16): ...
"""

from tsclient.client import Client, Prediction, Preview, Progress, Result, ServerError, Stream, Text
from tsclient.schema import FieldSchema, ModelSchema

__all__ = ["Client", "FieldSchema", "ModelSchema", "Prediction", "Preview", "Progress", "Result", "ServerError",
           "Stream", "Text"]
