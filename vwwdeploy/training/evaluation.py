"""Accuracy of a checkpoint (EMA weights, float) or a .tflite model (LiteRT) on a dataset split.

Both paths feed the same eval-preprocessed uint8 pixels (central crop 0.875, resize): the float model gets
pixel / 127.5 - 1, an int8 model that takes the camera's pixel - 128 (vwwdeploy/data/input_convention.py) gets
exactly that, as on the device, and any other int8 model its own quantization of pixel / 127.5 - 1. So float
and int8 accuracies compare on identical images.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from vwwdeploy.data import input_convention
from vwwdeploy.errors import UserError
from vwwdeploy.training.preprocess import eval_images, to_float


def open_eval_split(dataset, split: str = "val"):
    from vwwdeploy.data.store import open_split, resolve_split

    if split not in ("train", "val"):
        raise UserError(f"--split must be train or val, not {split!r}")
    data = open_split(resolve_split(dataset, split))
    if len(data) == 0:
        raise UserError(f"{data.path} is an empty split; nothing to evaluate")
    return data


def eval_pixels(data, image_size: int, channels: int, limit: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(uint8 [N, size, size, C] eval-preprocessed images, int64 labels) of a split, first `limit` rows."""
    if data.channels != channels:
        raise UserError(f"{data.path} holds {data.channels}-channel images, the model takes {channels}")
    if image_size > data.size:
        raise UserError(f"model input {image_size} is larger than the dataset's stored size {data.size}")
    n = len(data) if limit is None else min(limit, len(data))
    return eval_images(data.images(np.arange(n)), image_size), data.labels[:n]


def predict_float(model, pixels: np.ndarray, batch_size: int = 128) -> np.ndarray:
    """Class probabilities [N, classes] of a Keras model on uint8 eval pixels."""
    out = [
        np.asarray(model(to_float(pixels[i : i + batch_size]), training=False))
        for i in range(0, len(pixels), batch_size)
    ]
    return np.concatenate(out) if out else np.zeros((0, model.output_shape[-1]), np.float32)


def quantize_input(pixels: np.ndarray, detail: dict) -> np.ndarray:
    """Model input tensor values for uint8 eval pixels, per the input tensor's dtype and quantization."""
    dtype = np.dtype(detail["dtype"])
    if dtype == np.float32:
        return to_float(pixels)
    scale, zero_point = detail["quantization"]
    if dtype == np.int8 and input_convention.takes_camera_input(scale, zero_point):
        return input_convention.pixel_to_int8(pixels)  # what the device feeds: no float round trip
    if not scale:
        raise UserError(f"model input is {dtype.name} without quantization parameters")
    return input_convention.quantize(to_float(pixels), scale, zero_point, dtype)


class LiteRtModel:
    """A .tflite model in LiteRT, one image per invoke (exported models have batch 1)."""

    def __init__(self, model):
        from ai_edge_litert.interpreter import Interpreter, OpResolverType

        # Built-in kernels without the XNNPACK delegate: the op list stays the model's own, and
        # results do not depend on a delegate's own int8 arithmetic.
        resolver = OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES
        try:
            if isinstance(model, (bytes, bytearray)):
                self.interpreter = Interpreter(model_content=bytes(model), experimental_op_resolver_type=resolver)
            else:
                self.interpreter = Interpreter(model_path=str(model), experimental_op_resolver_type=resolver)
            self.interpreter.allocate_tensors()
        except (ValueError, RuntimeError) as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            # LiteRT repeats some complaints once per tensor on one line: keep the first sentence.
            first = first.split(". ")[0][:200]
            hint = (
                "run `vwwdeploy inspect --fix IN OUT` to repair it"
                if "quantized_dimension" in first
                else "try `vwwdeploy inspect`"
            )
            raise UserError(
                f"LiteRT cannot load {model if not isinstance(model, (bytes, bytearray)) else 'the model'}: "
                f"{first} ({hint})"
            ) from None
        inputs, outputs = self.interpreter.get_input_details(), self.interpreter.get_output_details()
        if len(inputs) != 1 or len(outputs) != 1:
            raise UserError(f"expected a model with one input and one output, found {len(inputs)} and {len(outputs)}")
        self.input, self.output = inputs[0], outputs[0]
        shape = tuple(int(d) for d in self.input["shape"])
        if len(shape) != 4 or shape[1] != shape[2]:
            raise UserError(f"expected a square image input [1, H, W, C], found {list(shape)}")
        self.image_size, self.channels = shape[1], shape[3]

    def ops(self) -> list[str]:
        return [op["op_name"] for op in self.interpreter._get_ops_details()]

    def tensor(self, index: int) -> dict:
        return self.interpreter._get_tensor_details(index, 0)

    def scores(self, pixels: np.ndarray) -> np.ndarray:
        """Raw output tensor values [N, classes] for uint8 eval pixels."""
        x = quantize_input(pixels, self.input)
        out = np.empty((len(x), int(np.prod(self.output["shape"][1:]))), dtype=self.output["dtype"])
        for i in range(len(x)):
            self.interpreter.set_tensor(self.input["index"], x[i : i + 1])
            self.interpreter.invoke()
            out[i] = self.interpreter.get_tensor(self.output["index"]).reshape(-1)
        return out


def _result(kind: str, source, data, labels: np.ndarray, predictions: np.ndarray) -> dict:
    correct = predictions == labels
    per_class = {
        name: {"count": int((labels == c).sum()), "correct": int(correct[labels == c].sum())}
        for c, name in enumerate(data.label_names)
    }
    return {
        "kind": kind,
        "model": str(source),
        "split": str(data.path),
        "count": int(len(labels)),
        "correct": int(correct.sum()),
        "accuracy": float(correct.mean()) if len(labels) else 0.0,
        "label_names": list(data.label_names),
        "per_class": per_class,
        "synthetic": bool(data.synthetic),
    }


def evaluate_checkpoint(train_dir, dataset, split: str = "val", limit: int | None = None) -> dict:
    """Accuracy of a train dir's newest checkpoint (EMA weights) on a split; a result dict."""
    from vwwdeploy.training.checkpoint import checked_train_dir, load_float_model

    checked_train_dir(train_dir)  # a wrong path is one line before TensorFlow loads (and logs)
    data = open_eval_split(dataset, split)
    model, config = load_float_model(train_dir)
    pixels, labels = eval_pixels(data, config.image_size, config.channels, limit)
    probs = predict_float(model, pixels)
    result = _result("checkpoint", train_dir, data, labels, probs.argmax(axis=1))
    from vwwdeploy.training.checkpoint import checkpoint_step

    result["step"] = checkpoint_step(train_dir)
    return result


def evaluate_tflite(model_path, dataset, split: str = "val", limit: int | None = None) -> dict:
    """Accuracy of a .tflite model in LiteRT on a split; a result dict."""
    path = Path(model_path)
    if not path.is_file():
        raise UserError(f"{path}: no such model file")
    model = LiteRtModel(path)
    data = open_eval_split(dataset, split)
    pixels, labels = eval_pixels(data, model.image_size, model.channels, limit)
    scores = model.scores(pixels)
    if scores.shape[1] != len(data.label_names):
        raise UserError(f"{path} has {scores.shape[1]} outputs, {data.path} has {len(data.label_names)} classes")
    result = _result("tflite", path, data, labels, scores.argmax(axis=1))
    result["input_dtype"] = np.dtype(model.input["dtype"]).name
    return result


def format_accuracy(result: dict) -> str:
    """The seed's eval line: eval/Accuracy[0.8512]."""
    return f"eval/Accuracy[{result['accuracy']:.4f}]"
