"""Small int8 MobileNetV1 .tflite files made on the spot: this project's export path, an RGB model with a
FULLY_CONNECTED head (the MLPerf Tiny layout), and a non-MobileNet; for the import tests and benchmarks."""

from __future__ import annotations

import numpy as np


def randomize_batch_norm(model, pixels: np.ndarray, seed: int = 0) -> None:
    """Batch-norm statistics as a trained net has them: moving mean/variance measured on `pixels` (so no layer
    dies or saturates and the output depends on the picture), random scales and offsets."""
    from vwwdeploy.training.model import batch_norm_layers

    rng = np.random.default_rng(seed)
    bns = batch_norm_layers(model)
    for layer in bns:
        n = layer.gamma.shape[0]
        layer.gamma.assign(rng.uniform(0.5, 1.5, n).astype("f4"))
        layer.beta.assign(rng.normal(0.5, 0.3, n).astype("f4"))
        layer.momentum = 0.0
    x = pixels.astype(np.float32) / 127.5 - 1.0
    model(x, training=True)  # momentum 0: the moving statistics become these pictures' statistics
    for layer in bns:
        layer.momentum = 0.99


def calibration(size: int, channels: int, n: int = 24, seed: int = 0) -> np.ndarray:
    """uint8 [n, size, size, channels] smooth random pictures, with pixel 0 and 255 present."""
    rng = np.random.default_rng(seed)
    low = rng.integers(0, 256, size=(n, 4, 4, channels)).astype(np.float32)
    reps = -(-size // 4)
    pixels = np.kron(low, np.ones((1, reps, reps, 1), np.float32))[:, :size, :size]
    pixels = np.clip(pixels + rng.normal(0, 20, pixels.shape), 0, 255).astype(np.uint8)
    pixels[0, 0, 0], pixels[0, 0, 1] = 0, 255
    return pixels


def mobilenet_tflite(size: int = 32, channels: int = 1, classes: int = 2, dense_head: bool = False, seed: int = 0):
    """(int8 .tflite bytes, the float Keras model it came from) of a MobileNetV1-0.25 with random weights."""
    import keras

    from vwwdeploy.training.export import convert_int8
    from vwwdeploy.training.model import build_mobilenet_v1

    keras.utils.set_random_seed(seed)
    model = build_mobilenet_v1(0.25, size, channels, classes, weight_decay=0.0)
    randomize_batch_norm(model, calibration(size, channels, n=64, seed=seed + 7), seed)
    batch1 = build_mobilenet_v1(0.25, size, channels, classes, weight_decay=0.0, batch_size=1)
    batch1.set_weights(model.get_weights())  # static shapes: the export graph, no shape arithmetic ops
    model = batch1
    logits = model.get_layer("logits")
    rng = np.random.default_rng(seed + 1)
    logits.set_weights([rng.normal(0, 0.3, logits.kernel.shape).astype("f4"), np.zeros(classes, "f4")])
    if dense_head:
        pooled = model.get_layer("avg_pool").output
        flat = keras.layers.Flatten(name="flatten")(pooled)
        dense = keras.layers.Dense(classes, name="dense")
        out = keras.layers.Softmax()(dense(flat))
        model = keras.Model(model.inputs, out)
        dense.set_weights([logits.get_weights()[0][0, 0], logits.get_weights()[1]])
    return convert_int8(model, calibration(size, channels)), model


def not_a_mobilenet_tflite(size: int = 32) -> bytes:
    """int8 model with one 5x5 convolution then a dense head: a CNN, but not a MobileNetV1."""
    import keras

    from vwwdeploy.training.export import convert_int8

    keras.utils.set_random_seed(0)
    inputs = keras.Input((size, size, 1), batch_size=1)
    x = keras.layers.Conv2D(8, 5, strides=2, padding="same", activation="relu6")(inputs)
    x = keras.layers.GlobalAveragePooling2D()(x)
    out = keras.layers.Dense(2, activation="softmax")(x)
    return convert_int8(keras.Model(inputs, out), calibration(size, 1))


def zero_one_input_tflite(size: int = 32) -> bytes:
    """A MobileNetV1 calibrated on [0, 1] inputs (pixel / 255: input scale 1/255, zero point -128)."""
    import tensorflow as tf

    _, model = mobilenet_tflite(size=size)
    spec = tf.TensorSpec([1, size, size, 1], tf.float32)
    serve = tf.function(lambda x: model(x, training=False), input_signature=[spec])
    from tensorflow.python.framework.convert_to_constants import convert_variables_to_constants_v2

    frozen = convert_variables_to_constants_v2(serve.get_concrete_function())
    converter = tf.lite.TFLiteConverter.from_concrete_functions([frozen], model)
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    pixels = calibration(size, 1)
    converter.representative_dataset = lambda: ([p[None].astype(np.float32) / 255.0] for p in pixels)
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    converter.inference_input_type = tf.int8
    converter.inference_output_type = tf.int8
    return converter.convert()
