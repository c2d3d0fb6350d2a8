"""`vwwdeploy import`: an int8 MobileNetV1 .tflite back into a float train dir that train/evaluate/export accept.

The int8 graph has batch norm folded into the convolution biases. The train dir's network has batch-norm
layers, so each folded bias is carried by one: gamma 1, beta = bias, moving mean 0, moving variance 1 - eps
(the layer then adds the bias and nothing else at inference). Every weight is dequantized with its own
per-channel scale; the first 3x3 convolution of a one-channel model appears in the .tflite as a
DEPTHWISE_CONV_2D with depth multiplier = output channels, which is the same arithmetic as a CONV_2D.
Heads ending in FULLY_CONNECTED (the MLPerf Tiny layout) map onto the 1x1 logits convolution.

The import proves itself: the float model runs on calibration pictures fed exactly the int8 model's input
(dequantized), and its probabilities must agree with the int8 model's (dequantized) within a tolerance
counted in output quantization steps. `--grayscale` sums the first convolution over its input channels:
on a gray picture (R = G = B) that is the same sum, so outputs are unchanged.

Longer than 400 lines on purpose: reading the int8 graph into Layer records, rebuilding the float network
from them and proving the two agree are one mapping; split, its rules would live in three places.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from vwwdeploy.data import input_convention
from vwwdeploy.errors import UserError
from vwwdeploy.model.flatbuf import Buf, Table
from vwwdeploy.model.schema import Model, Operator, Tensor, read_model

IMPORT_REPORT = "import.json"
DEFAULT_TOLERANCE_STEPS = 1.0
CALIBRATION_PICTURES = 16
TRAIN_DIR_INPUT = "pixel / 127.5 - 1"  # training.preprocess.to_float; a key of input_convention.FLOAT_CONVENTIONS

# tflite schema enums (schema.fbs): Padding and ActivationFunctionType.
PADDING = {0: "same", 1: "valid"}
ACTIVATION = {0: "NONE", 1: "RELU", 2: "RELU_N1_TO_1", 3: "RELU6"}
# Options-table field ids: (padding, stride_w, stride_h, depth_multiplier, activation) per op.
_CONV_FIELDS = {"padding": 0, "stride_w": 1, "stride_h": 2, "activation": 3}
_DW_FIELDS = {"padding": 0, "stride_w": 1, "stride_h": 2, "depth_multiplier": 3, "activation": 4}
_POOL_FIELDS = {"padding": 0, "stride_w": 1, "stride_h": 2, "filter_w": 3, "filter_h": 4, "activation": 5}
_FC_FIELDS = {"activation": 0}


class UnmappableModel(UserError):
    """The .tflite is not a MobileNetV1 this importer can rebuild."""


@dataclass
class Layer:
    """One convolution of the .tflite, dequantized, in Keras layout."""

    op_index: int
    op: str
    kernel: np.ndarray  # Conv2D [kh, kw, in, out] or DepthwiseConv2D [kh, kw, in, 1]
    bias: np.ndarray
    stride: int
    padding: str
    input_tensor: int = -1
    output_tensor: int = -1


# ------------------------------------------------------------------ reading the flatbuffer


def _options(model: Model, op_index: int, fields: dict[str, int]) -> dict:
    """The scalar builtin options of operator `op_index` (subgraph 0), via the checked flatbuffer reader."""
    root = Buf(model.data, "model file").root()
    sg = root.tables(2, "subgraphs")[0]
    op_table: Table = sg.tables(3, "operators")[op_index]
    options = op_table.table(4, f"operator {op_index} options")
    if options is None:
        return {name: 0 for name in fields}
    kinds = {"padding": "i8", "activation": "i8"}
    return {name: options.scalar(fid, kinds.get(name, "i32")) for name, fid in fields.items()}


def _buffer(model: Model, index: int) -> bytes:
    root = Buf(model.data, "model file").root()
    return root.tables(4, "buffers")[index].bytes_(0, "buffer data")


def _dequantized(model: Model, tensor: Tensor, axis: int) -> np.ndarray:
    """Float values of a constant tensor, per-channel scales along `axis`."""
    raw = _buffer(model, tensor.buffer)
    dtypes = {"int8": np.int8, "int32": np.int32, "float32": np.float32, "int16": np.int16, "uint8": np.uint8}
    if tensor.dtype not in dtypes:
        raise UnmappableModel(f"tensor {tensor.name!r} has type {tensor.dtype}, which the import cannot dequantize")
    values = np.frombuffer(raw, dtype=dtypes[tensor.dtype])
    if values.size != tensor.elements:
        raise UnmappableModel(f"tensor {tensor.name!r} holds {values.size} values, its shape {tensor.shape} needs more")
    values = values.reshape(tensor.shape).astype(np.float64)
    if tensor.dtype == "float32":
        return values.astype(np.float32)
    q = tensor.quantization
    if q is None or not q.scale:
        raise UnmappableModel(f"tensor {tensor.name!r} is {tensor.dtype} without quantization parameters")
    scale = np.asarray(q.scale, dtype=np.float64)
    zero = np.asarray(q.zero_point or [0], dtype=np.float64)
    if scale.size > 1:
        shape = [1] * values.ndim
        shape[axis] = scale.size
        scale = scale.reshape(shape)
        zero = zero.reshape(shape) if zero.size == scale.size else zero[:1]
    return ((values - zero) * scale).astype(np.float32)


def _activation_ok(model: Model, sg, op: Operator, activation: int) -> bool:
    """RELU6 fused, or a RELU / none whose int8 output range already stops at 6 (the clamp is implicit)."""
    name = ACTIVATION.get(activation, "?")
    if name == "RELU6":
        return True
    out = sg.tensors[op.outputs[0]]
    q = out.quantization
    if q is None or not q.scale:
        return False
    lo = (-128 - q.zero_point[0]) * q.scale[0]
    hi = (127 - q.zero_point[0]) * q.scale[0]
    if name == "RELU":
        return hi <= 6.0 + q.scale[0]
    return name == "NONE" and abs(lo) <= q.scale[0] and hi <= 6.0 + q.scale[0]


def read_layers(model: Model) -> tuple[list[Layer], dict]:
    """The convolutions of a MobileNetV1 .tflite in order, plus facts (input/output tensors, head).

    Raises UnmappableModel naming the first operator that does not fit the MobileNetV1 pattern."""
    if len(model.subgraphs) != 1:
        raise UnmappableModel(f"the model has {len(model.subgraphs)} subgraphs; a MobileNetV1 has one")
    sg = model.subgraphs[0]
    if len(sg.inputs) != 1 or len(sg.outputs) != 1:
        raise UnmappableModel(f"the model has {len(sg.inputs)} inputs and {len(sg.outputs)} outputs, not 1 and 1")
    inp, out = sg.tensors[sg.inputs[0]], sg.tensors[sg.outputs[0]]
    if len(inp.shape) != 4 or inp.shape[1] != inp.shape[2] or inp.shape[3] not in (1, 3):
        raise UnmappableModel(f"input shape {inp.shape} is not a square 1- or 3-channel image")
    if inp.dtype != "int8" or out.dtype != "int8":
        raise UnmappableModel(f"input {inp.dtype} / output {out.dtype}: the import reads full-integer int8 models")
    q = inp.quantization
    scale, zero = (q.scale[0], q.zero_point[0]) if q and q.scale and q.zero_point else (None, None)
    convention = input_convention.camera_convention(scale, zero)
    if convention != TRAIN_DIR_INPUT:
        # A [0, 1] model could be folded into the first convolution, but not exactly: SAME padding pads the
        # bottom/right border with 0, which is black in [0, 1] and mid-grey in [-1, 1].
        raise UnmappableModel(
            f"the model's input (scale {scale}, zero point {zero}) takes "
            f"{convention or 'neither [0, 1] nor [-1, 1] floats'}; train dirs take {TRAIN_DIR_INPUT}, and the "
            "import does not convert between input ranges"
        )

    layers: list[Layer] = []
    head = None
    state = "backbone"

    def fail(k: int, why: str):
        raise UnmappableModel(f"cannot map operator {k} ({model.op_name(sg.operators[k])}): {why}")

    for k, op in enumerate(sg.operators):
        name = model.op_name(op)
        if state == "backbone" and name in ("CONV_2D", "DEPTHWISE_CONV_2D"):
            fields = _CONV_FIELDS if name == "CONV_2D" else _DW_FIELDS
            opts = _options(model, k, fields)
            if opts["stride_w"] != opts["stride_h"]:
                fail(k, f"unequal strides {opts['stride_w']}x{opts['stride_h']}")
            if not _activation_ok(model, sg, op, opts["activation"]):
                fail(k, f"activation {ACTIVATION.get(opts['activation'], opts['activation'])}, expected RELU6")
            if len(op.inputs) < 3 or op.inputs[2] < 0:
                fail(k, "no bias (batch norm is not folded)")
            w_t, b_t = sg.tensors[op.inputs[1]], sg.tensors[op.inputs[2]]
            if name == "CONV_2D":
                w = _dequantized(model, w_t, 0)  # [out, kh, kw, in]
                kernel = np.transpose(w, (1, 2, 3, 0))
            else:
                w = _dequantized(model, w_t, 3)  # [1, kh, kw, in * multiplier]
                in_ch = sg.tensors[op.inputs[0]].shape[3]
                mult = opts["depth_multiplier"] or w.shape[3] // in_ch
                if in_ch * mult != w.shape[3]:
                    fail(k, f"depth multiplier {mult} with {in_ch} input channels and {w.shape[3]} outputs")
                if mult == 1:
                    kernel = w[0][..., None]  # [kh, kw, in, 1]
                elif in_ch == 1:
                    kernel = w[0][:, :, None, :]  # a full convolution of one input channel: [kh, kw, 1, out]
                    name = "CONV_2D"
                else:
                    fail(k, f"depth multiplier {mult} on {in_ch} channels")
            bias = _dequantized(model, b_t, 0)
            padding = PADDING.get(opts["padding"], "?")
            layers.append(Layer(k, name, kernel, bias, opts["stride_w"], padding, op.inputs[0], op.outputs[0]))
        elif state == "backbone" and name == "AVERAGE_POOL_2D":
            x = sg.tensors[op.inputs[0]]
            opts = _options(model, k, _POOL_FIELDS)
            if (opts["filter_h"], opts["filter_w"]) != tuple(x.shape[1:3]):
                fail(k, f"pool {opts['filter_h']}x{opts['filter_w']} over a {x.shape[1]}x{x.shape[2]} map, not global")
            state = "pooled"
        elif state == "pooled" and name == "RESHAPE":
            continue
        elif state == "pooled" and name in ("CONV_2D", "FULLY_CONNECTED"):
            w_t = sg.tensors[op.inputs[1]]
            has_bias = len(op.inputs) > 2 and op.inputs[2] >= 0
            if name == "CONV_2D":
                w = _dequantized(model, w_t, 0)
                if w.shape[1:3] != (1, 1):
                    fail(k, f"head kernel {w.shape[1]}x{w.shape[2]}, expected 1x1")
                kernel = np.transpose(w, (1, 2, 3, 0))
                act = _options(model, k, _CONV_FIELDS)["activation"]
            else:
                w = _dequantized(model, w_t, 0)  # [classes, features]
                if w.ndim != 2:
                    fail(k, f"weights of shape {list(w.shape)}")
                kernel = w.T[None, None]
                act = _options(model, k, _FC_FIELDS)["activation"]
            if ACTIVATION.get(act) != "NONE":
                fail(k, f"a logits layer with activation {ACTIVATION.get(act, act)}")
            bias = _dequantized(model, sg.tensors[op.inputs[2]], 0) if has_bias else np.zeros(kernel.shape[3], "f4")
            head = Layer(k, name, kernel, bias, 1, "valid", op.inputs[0], op.outputs[0])
            state = "logits"
        elif state == "logits" and name == "RESHAPE":
            continue
        elif state == "logits" and name == "SOFTMAX":
            state = "done"
        else:
            expected = {
                "backbone": "CONV_2D, DEPTHWISE_CONV_2D or AVERAGE_POOL_2D",
                "pooled": "the logits CONV_2D / FULLY_CONNECTED",
                "logits": "SOFTMAX",
                "done": "the end of the graph after SOFTMAX",
            }[state]
            fail(k, f"expected {expected} here")
    if state != "done":
        raise UnmappableModel(f"the graph ends before the MobileNetV1 head (no {'SOFTMAX' if head else 'logits'})")
    return layers, {"input": inp, "output": out, "head": head}


# ------------------------------------------------------------------ building the float model


def infer_config(layers: list[Layer], facts: dict):
    """TrainConfig fields (width, image_size, channels, num_classes) of the network the layers form."""
    from vwwdeploy.training.model import FIRST_CONV_CHANNELS, SEPARABLE_BLOCKS

    if not layers:
        raise UnmappableModel("no convolution before the average pool")
    first = layers[0]
    if first.op != "CONV_2D" or first.kernel.shape[:2] != (3, 3):
        raise UnmappableModel(f"cannot map operator {first.op_index} ({first.op}): expected the 3x3 first convolution")
    width = first.kernel.shape[3] / FIRST_CONV_CHANNELS
    expected = 1 + 2 * len(SEPARABLE_BLOCKS)
    inp = facts["input"]
    return {
        "width": float(width),
        "image_size": int(inp.shape[1]),
        "channels": int(inp.shape[3]),
        "num_classes": int(facts["head"].kernel.shape[3]),
        "_layers_expected": expected,
    }


def build_float_model(layers: list[Layer], facts: dict, grayscale: bool = False):
    """(keras.Model with the dequantized weights, config fields). Checks every layer's shape and stride."""
    from keras import layers as kl

    from vwwdeploy.training.model import BN_EPSILON, build_mobilenet_v1, depth

    fields = infer_config(layers, facts)
    expected = fields.pop("_layers_expected")
    if grayscale:
        fields["channels"] = 1
    model = build_mobilenet_v1(
        fields["width"], fields["image_size"], fields["channels"], fields["num_classes"], weight_decay=0.0
    )
    if depth(32, fields["width"]) != layers[0].kernel.shape[3]:
        raise UnmappableModel(f"first convolution has {layers[0].kernel.shape[3]} filters, not a MobileNetV1 width")
    convs = [layer for layer in model.layers if isinstance(layer, (kl.Conv2D, kl.DepthwiseConv2D))]
    backbone = [c for c in convs if c.name != "logits"]
    for i, (keras_layer, layer) in enumerate(zip(backbone, layers)):
        kernel = layer.kernel
        if i == 0 and grayscale:
            kernel = kernel.sum(axis=2, keepdims=True)
        want_dw = isinstance(keras_layer, kl.DepthwiseConv2D)
        got_dw = layer.op == "DEPTHWISE_CONV_2D"
        shape = tuple(keras_layer.kernel.shape)
        if want_dw != got_dw or kernel.shape != shape or layer.stride != keras_layer.strides[0]:
            raise UnmappableModel(
                f"cannot map operator {layer.op_index} ({layer.op}, kernel {list(kernel.shape)}, stride "
                f"{layer.stride}): MobileNetV1 width {fields['width']:g} expects "
                f"{'DEPTHWISE_CONV_2D' if want_dw else 'CONV_2D'} {list(shape)} stride {keras_layer.strides[0]} here"
            )
        if layer.padding != "same":
            raise UnmappableModel(f"cannot map operator {layer.op_index} ({layer.op}): padding VALID, expected SAME")
        keras_layer.kernel.assign(kernel)
        bn = model.get_layer(f"{keras_layer.name}_bn")
        n = layer.bias.shape[0]
        bn.set_weights(
            [np.ones(n, "f4"), layer.bias.astype("f4"), np.zeros(n, "f4"), np.full(n, 1.0 - BN_EPSILON, "f4")]
        )
    if len(layers) != expected:
        extra = layers[len(backbone)] if len(layers) > len(backbone) else None
        where = f"operator {extra.op_index} ({extra.op})" if extra else f"operator {facts['head'].op_index}"
        raise UnmappableModel(
            f"cannot map {where}: the model has {len(layers)} convolutions before the pool, MobileNetV1 {expected}"
        )
    logits = model.get_layer("logits")
    if tuple(logits.kernel.shape) != facts["head"].kernel.shape:
        head = facts["head"]
        raise UnmappableModel(
            f"cannot map operator {head.op_index} ({head.op}): logits weights {list(head.kernel.shape)}, "
            f"expected {list(logits.kernel.shape)}"
        )
    logits.set_weights([facts["head"].kernel, facts["head"].bias])
    return model, fields


# ------------------------------------------------------------------ proving the import


def calibration_pictures(size: int, count: int = CALIBRATION_PICTURES, seed: int = 0) -> np.ndarray:
    """uint8 [count, size, size, 3]: seeded synthetic scenes (figures, clutter) resized to the model input."""
    from PIL import Image

    from vwwdeploy.data.synthetic import _draw_image

    rng = np.random.default_rng(seed)
    out = []
    for i in range(count):
        img, _ = _draw_image(rng, positive=bool(i % 2), tiny=False)
        out.append(np.asarray(img.convert("RGB").resize((size, size), Image.Resampling.BILINEAR), dtype=np.uint8))
    return np.stack(out)


class Int8Reference:
    """The int8 model in LiteRT with every intermediate tensor kept, so each layer can be checked on its own."""

    def __init__(self, data: bytes):
        from ai_edge_litert.interpreter import Interpreter, OpResolverType

        from vwwdeploy.model.fix import patch_quantized_dimensions

        try:  # the upstream file's bias quantized_dimension quirk: LiteRT refuses it unpatched
            data, _ = patch_quantized_dimensions(data)
        except UserError:
            pass
        try:
            self.interpreter = Interpreter(
                model_content=data,
                experimental_op_resolver_type=OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES,
                experimental_preserve_all_tensors=True,
            )
            self.interpreter.allocate_tensors()
        except (ValueError, RuntimeError) as exc:
            raise UserError(f"LiteRT cannot run the int8 model: {str(exc).strip().splitlines()[0][:200]}") from None
        self.input = self.interpreter.get_input_details()[0]
        self.output = self.interpreter.get_output_details()[0]

    def run(self, pixels: np.ndarray) -> list[dict[int, np.ndarray]]:
        """Per picture: {tensor index: dequantized float values} of every tensor, after one inference."""
        from vwwdeploy.training.evaluation import quantize_input

        q = quantize_input(pixels, self.input)
        details = self.interpreter.get_tensor_details()
        runs = []
        for i in range(len(q)):
            self.interpreter.set_tensor(self.input["index"], q[i : i + 1])
            self.interpreter.invoke()
            values = {}
            for d in details:
                scale, zero = d["quantization"]
                if d["dtype"] != np.int8 or not scale:
                    continue
                try:
                    raw = self.interpreter.get_tensor(d["index"])
                except ValueError:
                    continue
                values[d["index"]] = ((raw.astype(np.float32) - zero) * scale, scale, zero)
            runs.append(values)
        return runs


def agreement(model, layers: list[Layer], facts: dict, reference: Int8Reference, pixels: np.ndarray) -> dict:
    """Each layer of the float model fed the int8 model's own (dequantized) input of that layer, against that
    layer's int8 output: differences in output quantization steps. A correct import stays within one step per
    layer (rounding of the requantization); end-to-end differences are printed too (they add up through the net).
    """
    from keras import layers as kl

    runs = reference.run(pixels)
    convs = [c for c in model.layers if isinstance(c, (kl.Conv2D, kl.DepthwiseConv2D)) and c.name != "logits"]
    worst = {"steps": 0.0, "op_index": None}

    def compare(op_index: int, float_out: np.ndarray, tensor: int):
        ref = np.stack([r[tensor][0] for r in runs]).reshape(float_out.shape)
        scale, zero = runs[0][tensor][1:]
        # An int8 tensor saturates at the range its calibration gave it: the float value, clamped alike.
        clamped = np.clip(float_out, (-128 - zero) * scale, (127 - zero) * scale)
        steps = float(np.abs(clamped - ref).max() / scale)
        if steps > worst["steps"]:
            worst.update(steps=steps, op_index=op_index)

    for keras_conv, layer in zip(convs, layers):
        x = np.concatenate([r[layer.input_tensor][0] for r in runs])
        y = keras_conv(x)
        y = model.get_layer(f"{keras_conv.name}_bn")(y, training=False)
        y = np.asarray(model.get_layer(f"{keras_conv.name}_relu6")(y))
        compare(layer.op_index, y, layer.output_tensor)
    head = facts["head"]
    x = np.concatenate([r[head.input_tensor][0].reshape(1, 1, 1, -1) for r in runs])
    logits = np.asarray(model.get_layer("logits")(x))
    compare(head.op_index, logits, head.output_tensor)
    int8_logits = np.stack([r[head.output_tensor][0].reshape(-1) for r in runs])
    out_index = reference.output["index"]
    out_scale = float(reference.output["quantization"][0])
    softmax = np.exp(int8_logits - int8_logits.max(axis=1, keepdims=True))
    softmax /= softmax.sum(axis=1, keepdims=True)
    compare(-1, softmax, out_index)

    in_scale, in_zero = reference.input["quantization"]
    x = np.concatenate([r[reference.input["index"]][0] for r in runs])
    probs = np.asarray(model(x, training=False), dtype=np.float64)
    int8_probs = np.stack([r[out_index][0].reshape(-1) for r in runs])
    end_to_end = np.abs(probs - int8_probs)
    return {
        "max_layer_difference_steps": worst["steps"],
        "worst_layer_op_index": worst["op_index"],
        "layers_checked": len(layers) + 2,
        "output_scale": out_scale,
        "end_to_end_max_difference": float(end_to_end.max()),
        "end_to_end_max_difference_steps": float(end_to_end.max() / out_scale),
        "argmax_agreement": float((probs.argmax(1) == int8_probs.argmax(1)).mean()),
        "pictures": int(len(pixels)),
    }


def _gray(pixels: np.ndarray, channels: int) -> np.ndarray:
    gray = np.asarray(
        np.rint(pixels[..., :3].astype(np.float32) @ np.array([0.299, 0.587, 0.114], np.float32)), np.uint8
    )[..., None]
    return np.repeat(gray, channels, axis=3)


def rebuild(
    model_path,
    *,
    grayscale: bool = False,
    tolerance_steps: float = DEFAULT_TOLERANCE_STEPS,
    calibration: np.ndarray | None = None,
    log: Callable[[str], None] = print,
):
    """(float keras.Model, config fields, report) of an int8 MobileNetV1 .tflite, checked against it."""
    model_path = Path(model_path)
    tfl = read_model(model_path)
    layers, facts = read_layers(tfl)
    if grayscale and facts["input"].shape[3] != 3:
        raise UserError(f"{model_path} already takes 1-channel input; --grayscale is for RGB models")
    model, fields = build_float_model(layers, facts, grayscale=False)
    reference = Int8Reference(tfl.data)
    pixels = calibration if calibration is not None else calibration_pictures(fields["image_size"])
    if fields["channels"] == 1:
        pixels = _gray(pixels, 1)
    elif pixels.shape[-1] == 1:
        pixels = np.repeat(pixels, 3, axis=3)
    check = agreement(model, layers, facts, reference, pixels)
    log(
        f"float vs int8 on {check['pictures']} calibration pictures: largest difference of any of the "
        f"{check['layers_checked']} layers fed the int8 input {check['max_layer_difference_steps']:.2f} output "
        f"steps; end to end {check['end_to_end_max_difference']:.5f} ({check['end_to_end_max_difference_steps']:.1f} "
        f"steps of {check['output_scale']:.5f}), same class on {check['argmax_agreement']:.0%}"
    )
    if check["max_layer_difference_steps"] > tolerance_steps:
        raise UserError(
            f"the float rebuild of {model_path} disagrees with the int8 model at operator "
            f"{check['worst_layer_op_index']} by {check['max_layer_difference_steps']:.2f} output steps "
            f"(tolerance {tolerance_steps:g}); nothing written"
        )
    report = {"source": str(model_path), "agreement": check, "grayscale": grayscale}
    if grayscale:
        gray_model, fields = build_float_model(layers, facts, grayscale=True)
        g = _gray(pixels, 3)
        rgb_probs = np.asarray(model(g.astype(np.float32) / 127.5 - 1.0, training=False))
        one_probs = np.asarray(gray_model(g[..., :1].astype(np.float32) / 127.5 - 1.0, training=False))
        report["grayscale_max_difference"] = float(np.abs(rgb_probs - one_probs).max())
        log(
            f"--grayscale: first convolution summed over 3 input channels; on gray pictures the 1-channel model "
            f"differs from the RGB one by at most {report['grayscale_max_difference']:.2e}"
        )
        model = gray_model
    return model, fields, report


def default_label_names(num_classes: int) -> list[str]:
    return ["notperson", "person"] if num_classes == 2 else [f"class{i}" for i in range(num_classes)]


def import_tflite(
    model_path,
    out,
    *,
    grayscale: bool = False,
    label_names: list[str] | None = None,
    tolerance_steps: float = DEFAULT_TOLERANCE_STEPS,
    calibration: np.ndarray | None = None,
    log: Callable[[str], None] = print,
) -> dict:
    """Rebuild `model_path` as a float train dir at `out`; returns the import report (also out/import.json)."""
    from vwwdeploy.atomic import atomic_dir
    from vwwdeploy.training.checkpoint import save_checkpoint
    from vwwdeploy.training.config import TrainConfig

    model_path, out = Path(model_path), Path(out)
    read_model(model_path)  # a missing or non-.tflite file is reported before the --out check
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise UserError(f"--out {out} exists and is not empty; choose a new folder")
    model, fields, report = rebuild(
        model_path, grayscale=grayscale, tolerance_steps=tolerance_steps, calibration=calibration, log=log
    )
    names = label_names or default_label_names(fields["num_classes"])
    if len(names) != fields["num_classes"]:
        raise UserError(f"{len(names)} label names given, the model has {fields['num_classes']} classes")
    config = TrainConfig(
        width=fields["width"],
        image_size=fields["image_size"],
        channels=fields["channels"],
        num_classes=fields["num_classes"],
        label_names=list(names),
        max_steps=0,
        dataset=f"imported:{model_path}",
    )
    with atomic_dir(out) as tmp:
        config.save(tmp)
        save_checkpoint(tmp, 0, model.weights, [], model.weights)
        (tmp / IMPORT_REPORT).write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    report["out"] = str(out)
    report["config"] = config.describe_model()
    return report
