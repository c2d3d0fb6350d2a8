"""Small .tflite models built on the spot, for tests of the model tools (and anyone who needs one).

Built with Keras + TFLiteConverter in a child process (TensorFlow is slow to import and should not
live in the caller), then cached under cache_dir()/tiny-models/<key>/ where the key covers this
file's source and the TensorFlow version, so a change here rebuilds them.

- `int8`: trained for a few epochs on a toy task (bright square or not), full-integer int8 with the
  upstream person detector's op set (CONV_2D, DEPTHWISE_CONV_2D, AVERAGE_POOL_2D, RESHAPE, SOFTMAX),
  input 32x32x1 quantized like the project's models (scale 2/255, zero point -1).
- `float`: the same network converted without quantization.
- `degenerate`: same network, untrained, last layer all zeros: constant logits give the softmax
  input a degenerate scale on which TFLM aborts.
- `big_flash`: int8, a dense layer on a 96x96 image: ~885 KB of weights, more than the Edge's flash.
- `big_ram`: int8, one 3x3 conv with 32 filters on 96x96: ~300 KB activations, more than its RAM.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

from vwwdeploy.paths import cache_dir

NAMES = ("int8", "float", "degenerate", "big_flash", "big_ram")


def _key() -> str:
    import inspect

    from vwwdeploy.training.export import convert_full_integer

    # The models depend on this file and on the int8 conversion settings it borrows from export.
    src = Path(__file__).read_bytes() + inspect.getsource(convert_full_integer).encode()
    try:
        from importlib.metadata import version

        tf = version("tensorflow-cpu")
    except Exception:
        tf = "unknown"
    return hashlib.sha256(src + tf.encode()).hexdigest()[:16]


def tiny_models_dir() -> Path:
    """Folder holding <name>.tflite for every name in NAMES (built once, then cached)."""
    out = cache_dir() / "tiny-models" / _key()
    if all((out / f"{n}.tflite").is_file() for n in NAMES):
        return out
    out.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", CUDA_VISIBLE_DEVICES="")
    env["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(Path(__file__).resolve().parents[2]), env.get("PYTHONPATH")) if p
    )
    proc = subprocess.run(
        [sys.executable, "-m", "vwwdeploy.testing.tiny_models", str(out)],
        env=env,
        timeout=900,
        capture_output=True,
        text=True,
    )
    if proc.returncode != 0:  # TensorFlow is chatty; show its output only when the build failed
        raise RuntimeError(f"building tiny models failed:\n{proc.stdout[-2000:]}\n{proc.stderr[-4000:]}")
    return out


def tiny_model(name: str) -> Path:
    if name not in NAMES:
        raise ValueError(f"unknown tiny model {name!r}; one of {NAMES}")
    return tiny_models_dir() / f"{name}.tflite"


# ------------------------------------------------------------------ builder (child process)


def _toy_data(n: int, size: int, seed: int):
    import numpy as np

    rng = np.random.default_rng(seed)
    x = rng.uniform(-1, -0.2, size=(n, size, size, 1)).astype("float32")
    y = rng.integers(0, 2, size=n)
    for i in np.flatnonzero(y):
        r, c = rng.integers(0, size - 8, size=2)
        x[i, r : r + 8, c : c + 8, 0] = 1.0
    return x, y


def _mobilenet_like(keras, size: int):
    layers = keras.layers
    inp = keras.Input((size, size, 1), batch_size=1)
    x = layers.Conv2D(8, 3, strides=2, padding="same", activation="relu")(inp)
    x = layers.DepthwiseConv2D(3, padding="same", activation="relu")(x)
    x = layers.Conv2D(16, 1, activation="relu")(x)
    x = layers.AveragePooling2D(pool_size=x.shape[1:3])(x)
    x = layers.Conv2D(2, 1, name="logits")(x)
    x = layers.Reshape((2,))(x)
    return keras.Model(inp, layers.Softmax()(x))


def _convert(tf, model, calib, int8: bool) -> bytes:
    conv = tf.lite.TFLiteConverter.from_keras_model(model)
    if not int8:
        return conv.convert()
    from vwwdeploy.training.export import convert_full_integer

    def rep():
        for i in range(len(calib)):
            yield [calib[i : i + 1]]

    return convert_full_integer(conv, rep)


def _build_all(out: Path) -> None:
    import numpy as np
    import tensorflow as tf

    keras = tf.keras
    keras.utils.set_random_seed(0)
    x, y = _toy_data(512, 32, seed=0)

    trained = _mobilenet_like(keras, 32)
    trained.compile(optimizer=keras.optimizers.Adam(0.01), loss="sparse_categorical_crossentropy")
    trained.fit(x, y, batch_size=32, epochs=4, verbose=0)
    results = {"int8": _convert(tf, trained, x[:64], True), "float": _convert(tf, trained, x[:64], False)}

    dead = _mobilenet_like(keras, 32)
    logits = dead.get_layer("logits")
    logits.set_weights([np.zeros_like(w) for w in logits.get_weights()])
    results["degenerate"] = _convert(tf, dead, x[:16], True)

    big, _ = _toy_data(16, 96, seed=1)
    inp = keras.Input((96, 96, 1), batch_size=1)
    h = keras.layers.Dense(2, activation="softmax")(
        keras.layers.Dense(96, activation="relu")(keras.layers.Flatten()(inp))
    )
    results["big_flash"] = _convert(tf, keras.Model(inp, h), big, True)

    inp = keras.Input((96, 96, 1), batch_size=1)
    h = keras.layers.Conv2D(32, 3, padding="same", activation="relu")(inp)
    h = keras.layers.AveragePooling2D(pool_size=(96, 96))(h)
    h = keras.layers.Reshape((2, 16))(keras.layers.Reshape((32,))(h))
    results["big_ram"] = _convert(tf, keras.Model(inp, h), big, True)

    for name, data in results.items():
        tmp = out / f".{name}.tflite.tmp"
        tmp.write_bytes(data)
        os.replace(tmp, out / f"{name}.tflite")


if __name__ == "__main__":
    _build_all(Path(sys.argv[1]))
