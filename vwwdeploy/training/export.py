"""Full-integer int8 export of a train dir's EMA weights, in the upstream person detector's op set.

The export graph is the same network built with batch 1 (static shapes), so after batch-norm folding the
converter emits exactly AVERAGE_POOL_2D, CONV_2D, DEPTHWISE_CONV_2D, RESHAPE, SOFTMAX. Calibration uses
val images preprocessed exactly as for evaluation. The input quantization must come out as scale 2/255,
zero point -1 (device input = pixel - 128): the calibration range of the input is therefore made to span
exactly [-1, 1] (pixel 0 and 255 present), setting one pixel of one calibration image if no image has them.

An untrained or collapsed model can give the softmax input a tiny scale; TFLM then aborts while preparing
SOFTMAX (its multiplier scale * 2^26 must exceed 1). The export detects that and warns, and also loads
the model in the TFLM runtime (isolated in a child process) to be sure.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np

from vwwdeploy.atomic import atomic_write_bytes
from vwwdeploy.data import input_convention
from vwwdeploy.errors import UserError
from vwwdeploy.progress import say
from vwwdeploy.training.evaluation import (
    LiteRtModel,
    eval_pixels,
    open_eval_split,
    predict_float,
)

EXPECTED_OPS = ("AVERAGE_POOL_2D", "CONV_2D", "DEPTHWISE_CONV_2D", "RESHAPE", "SOFTMAX")
TFLM_SOFTMAX_SCALED_DIFF_BITS = 5  # kScaledDiffIntegerBits in TFLM's int8 softmax


def _inside(path: Path, folder: Path) -> bool:
    try:
        path.resolve().relative_to(folder.resolve())
        return True
    except ValueError:
        return False


def check_output_path(out: Path, dataset: Path, train_dir: Path) -> None:
    """Refuse outputs inside the dataset, over the train dir's own files, or onto a directory."""
    out = Path(out)
    if out.suffix != ".tflite":
        raise UserError(f"{out}: the output must be a .tflite file")
    if out.is_dir():
        raise UserError(f"{out} is a directory; give a .tflite file path")
    if _inside(out, Path(dataset)):
        raise UserError(f"{out} is inside the dataset folder {dataset}; write the model elsewhere")
    if _inside(out, Path(train_dir)) and (
        out.name in ("config.json", "checkpoint.json") or out.name.startswith(("ckpt-", "events.out"))
    ):
        raise UserError(f"{out} would overwrite the train dir's own file; choose another --out")


def softmax_is_degenerate(input_scale: float) -> bool:
    """True when TFLM's int8 SOFTMAX would abort in Prepare for this input scale."""
    return input_scale * float(1 << (31 - TFLM_SOFTMAX_SCALED_DIFF_BITS)) <= 1.0


def calibration_pixels(data, image_size: int, channels: int, count: int, seed: int = 0) -> np.ndarray:
    """uint8 eval-preprocessed images for calibration: `count` val images in a seeded order."""
    if count < 1:
        raise UserError(f"--calibration-images must be at least 1, not {count}")
    order = np.random.default_rng(seed).permutation(len(data))[: min(count, len(data))]
    pixels, _ = eval_pixels(_Subset(data, np.sort(order)), image_size, channels)
    pixels = pixels.copy()
    # Pin the input range to exactly [-1, 1] so the converter chooses scale 2/255, zero point -1.
    if pixels.min() > 0:
        pixels.reshape(len(pixels), -1)[0, 0] = 0
    if pixels.max() < 255:
        pixels.reshape(len(pixels), -1)[0, 1] = 255
    return pixels


class _Subset:
    """Rows of a DatasetSplit, with the attributes eval_pixels uses."""

    def __init__(self, data, rows: np.ndarray):
        self._data, self._rows = data, rows
        self.path, self.size, self.channels = data.path, data.size, data.channels
        self.labels = data.labels[rows]

    def __len__(self):
        return len(self._rows)

    def images(self, indices):
        return self._data.images(self._rows[np.asarray(indices)])


def convert_int8(model, pixels: np.ndarray) -> bytes:
    """TFLite flatbuffer of a batch-1 Keras model, int8 weights/activations/input/output."""
    import tensorflow as tf

    from vwwdeploy.training.preprocess import to_float

    spec = tf.TensorSpec([1, *model.input_shape[1:]], tf.float32)

    @tf.function(input_signature=[spec])
    def serve(x):
        return model(x, training=False)

    def representative():
        for i in range(len(pixels)):
            yield [to_float(pixels[i : i + 1])]

    # Freeze the weights into constants first: converting Keras 3 resource variables directly leaves
    # READ_VARIABLE ops that the calibrator cannot run.
    from tensorflow.python.framework.convert_to_constants import convert_variables_to_constants_v2

    frozen = convert_variables_to_constants_v2(serve.get_concrete_function())
    converter = tf.lite.TFLiteConverter.from_concrete_functions([frozen], model)
    return convert_full_integer(converter, representative)


def convert_full_integer(converter, representative) -> bytes:
    """Convert with int8 kernels only and int8 input and output, calibrated on `representative`: what the
    board's TFLM build can run (a float input or output would need ops the firmware does not register)."""
    import tensorflow as tf

    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.representative_dataset = representative
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    converter.inference_input_type = tf.int8
    converter.inference_output_type = tf.int8
    return converter.convert()


def describe(model_bytes: bytes) -> dict:
    """Ops, input/output quantization and the softmax input scale of a .tflite, read through LiteRT."""
    lite = LiteRtModel(model_bytes)
    ops = lite.ops()
    softmax_scale = None
    for op in lite.interpreter._get_ops_details():
        if op["op_name"] == "SOFTMAX":
            softmax_scale = float(lite.tensor(int(op["inputs"][0]))["quantization"][0])

    def spec(detail):
        scale, zero_point = detail["quantization"]
        return {
            "shape": [int(d) for d in detail["shape"]],
            "dtype": np.dtype(detail["dtype"]).name,
            "scale": float(scale),
            "zero_point": int(zero_point),
        }

    return {
        "ops": dict(sorted(Counter(ops).items())),
        "input": spec(lite.input),
        "output": spec(lite.output),
        "softmax_input_scale": softmax_scale,
    }


def _tflm_check(model_bytes: bytes, pixels: np.ndarray) -> str | None:
    """None when the TFLM runtime loads and runs the model, else why not."""
    from vwwdeploy.model.tflm_twin import TflmTwin

    try:
        with TflmTwin(model_bytes) as twin:
            twin.invoke((pixels[:1].astype(np.int16) - 128).astype(np.int8))
    except UserError as exc:
        return str(exc)
    return None


def export_int8(
    train_dir,
    dataset_dir,
    out_path,
    calibration_images: int = 300,
    evaluate: bool = True,
    eval_limit: int | None = None,
    check_tflm: bool = True,
    log=say,
) -> dict:
    """Export a train dir's EMA weights to a full-integer int8 .tflite at `out_path` (written atomically).

    Calibration: `calibration_images` images of the dataset's val split (or the split given), eval
    preprocessed. With `evaluate`, float (Keras) and int8 (LiteRT) accuracy on the same val images
    (`eval_limit` of them, default all). Returns a summary dict: out, bytes, ops {name: count}, input,
    output ({shape, dtype, scale, zero_point}), softmax_input_scale, calibration_images, float_accuracy,
    int8_accuracy, accuracy_drop, eval_count, tflm_ok, warnings [str], synthetic, step.
    """
    from vwwdeploy.training.checkpoint import checked_train_dir, checkpoint_step, load_float_model

    train_dir, dataset_dir, out_path = Path(train_dir), Path(dataset_dir), Path(out_path)
    check_output_path(out_path, dataset_dir, train_dir)
    checked_train_dir(train_dir)  # wrong paths are one line before TensorFlow loads (and logs)
    data = open_eval_split(dataset_dir, "val")
    model, config = load_float_model(train_dir, batch_size=1)
    pixels = calibration_pixels(data, config.image_size, config.channels, calibration_images)
    log(f"calibrating int8 on {len(pixels)} images of {data.path}" + (" [SYNTHETIC]" if data.synthetic else ""))
    model_bytes = convert_int8(model, pixels)

    info = describe(model_bytes)
    if tuple(info["ops"]) != EXPECTED_OPS:
        raise UserError(f"export produced ops {sorted(info['ops'])}, expected exactly {list(EXPECTED_OPS)}")
    warnings = []
    if info["input"]["dtype"] != "int8" or info["output"]["dtype"] != "int8":
        raise UserError(f"export produced {info['input']['dtype']} input / {info['output']['dtype']} output, not int8")
    if not input_convention.takes_camera_input(info["input"]["scale"], info["input"]["zero_point"]):
        warnings.append(input_convention.mismatch(info["input"]["scale"], info["input"]["zero_point"]))
    scale = info["softmax_input_scale"]
    if scale is not None and softmax_is_degenerate(scale):
        warnings.append(
            f"softmax input scale {scale:.3g} is degenerate (untrained or collapsed model): "
            "TFLM will abort on this model; train longer before deploying"
        )
    tflm_error = _tflm_check(model_bytes, pixels) if check_tflm else None
    if tflm_error:
        warnings.append(f"the TFLM runtime cannot run this model: {tflm_error}")
    atomic_write_bytes(out_path, model_bytes)

    summary = {
        "out": str(out_path),
        "bytes": len(model_bytes),
        **info,
        "calibration_images": len(pixels),
        "float_accuracy": None,
        "int8_accuracy": None,
        "accuracy_drop": None,
        "eval_count": 0,
        "tflm_ok": None if not check_tflm else tflm_error is None,
        "warnings": warnings,
        "synthetic": bool(data.synthetic),
        "step": checkpoint_step(train_dir),
    }
    for warning in warnings:
        log(f"warning: {warning}")
    if evaluate:
        eval_x, labels = eval_pixels(data, config.image_size, config.channels, eval_limit)
        batched, _ = load_float_model(train_dir)  # same weights, dynamic batch: faster than batch-1 calls
        float_pred = predict_float(batched, eval_x).argmax(axis=1)
        int8_pred = LiteRtModel(model_bytes).scores(eval_x).argmax(axis=1)
        summary["float_accuracy"] = float((float_pred == labels).mean())
        summary["int8_accuracy"] = float((int8_pred == labels).mean())
        summary["accuracy_drop"] = summary["float_accuracy"] - summary["int8_accuracy"]
        summary["eval_count"] = int(len(labels))
    return summary
