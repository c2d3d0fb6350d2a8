"""Pins of the quickstart's `--pretrained` model (stdlib only: the CLI reads it for --help)."""

# The upstream TFLM person detector, pinned to a tflite-micro commit and checked by sha256.
PRETRAINED_COMMIT = "90b983c2b3f1480642e040bbd2ddb37b998f3424"
PRETRAINED_URL = (
    f"https://raw.githubusercontent.com/tensorflow/tflite-micro/{PRETRAINED_COMMIT}"
    "/tensorflow/lite/micro/models/person_detect.tflite"
)
PRETRAINED_SHA256 = "808cfdfc0cf3a6fa6f6fa26bfa379ea97c16d5db7334637766e39c3408502e9d"
PRETRAINED_SIZE = 300_568
