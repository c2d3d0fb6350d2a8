"""Model input preprocessing, shared by training, evaluation, export, validation and the simulators.

Float input x = pixel / 127.5 - 1, in [-1, 1] (slim: image in [0, 1], then (x - 0.5) * 2).
Evaluation (slim's mobilenet_v1 eval preprocessing): central crop keeping 0.875 of each side of the SxS
store image, bilinear resize to the model size, then the float mapping. The eval path stops at uint8 so
that the float model and the int8 model (input = pixel - 128, scale 2/255, zero point -1) see exactly the
same pixels.

Training augmentation (slim's inception-style preprocessing, grayscale): random distorted crop (covering
10-100 % of the image, aspect 3/4-4/3), resize, random left-right flip, random brightness (+-32/255) and
contrast (x0.5-1.5), clip. It runs batched in TensorFlow with stateless random numbers seeded by
(seed, step), so a resumed run sees the same augmented batches as an uninterrupted one.

`eval_images`, `to_float` and `to_int8` are pure numpy so light users need not import TensorFlow.
"""

from __future__ import annotations

import numpy as np

from vwwdeploy.data.input_convention import pixel_to_int8

CENTRAL_FRACTION = 0.875
CROP_AREA_RANGE = (0.1, 1.0)  # slim: area_range (0.05, 1.0) with min_object_covered 0.1 of the whole image
CROP_ASPECT_RANGE = (3 / 4, 4 / 3)
BRIGHTNESS_DELTA = 32.0 / 255.0
CONTRAST_RANGE = (0.5, 1.5)


def _as_nhwc(images: np.ndarray) -> np.ndarray:
    images = np.asarray(images)
    if images.ndim == 3:
        images = images[..., None]
    if images.ndim != 4:
        raise ValueError(f"expected images [N, S, S] or [N, S, S, C], got shape {images.shape}")
    return images


def central_crop_box(size: int, fraction: float = CENTRAL_FRACTION) -> tuple[int, int]:
    """(start, length) of slim/tf.image.central_crop along a side of `size` pixels."""
    start = int((size - size * fraction) / 2)
    return start, size - 2 * start


def _bilinear_weights(in_size: int, out_size: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Source rows and weights of tf.image.resize(method='bilinear', antialias=False): half-pixel centers."""
    scale = in_size / out_size
    src = (np.arange(out_size) + 0.5) * scale - 0.5
    src = np.clip(src, 0, in_size - 1)
    lo = np.floor(src).astype(np.int64)
    hi = np.minimum(lo + 1, in_size - 1)
    return lo, hi, (src - lo).astype(np.float32)


def resize_bilinear(images: np.ndarray, out_size: int) -> np.ndarray:
    """float32 [N, out, out, C] bilinear resize of [N, H, W, C] (same sampling as tf.image.resize)."""
    images = images.astype(np.float32)
    ylo, yhi, wy = _bilinear_weights(images.shape[1], out_size)
    xlo, xhi, wx = _bilinear_weights(images.shape[2], out_size)
    rows = images[:, ylo] * (1 - wy)[None, :, None, None] + images[:, yhi] * wy[None, :, None, None]
    return rows[:, :, xlo] * (1 - wx)[None, None, :, None] + rows[:, :, xhi] * wx[None, None, :, None]


def eval_images(images: np.ndarray, image_size: int = 96, chunk: int = 512) -> np.ndarray:
    """uint8 [N, S, S(, C)] store images -> uint8 [N, image_size, image_size, C] as the model is evaluated."""
    images = _as_nhwc(images)
    start, length = central_crop_box(images.shape[1])
    start_x, length_x = central_crop_box(images.shape[2])
    out = np.empty((len(images), image_size, image_size, images.shape[3]), dtype=np.uint8)
    for i in range(0, len(images), chunk):
        crop = images[i : i + chunk, start : start + length, start_x : start_x + length_x]
        resized = resize_bilinear(crop, image_size)
        out[i : i + chunk] = np.clip(np.rint(resized), 0, 255).astype(np.uint8)
    return out


def to_float(images: np.ndarray) -> np.ndarray:
    """uint8 pixels -> float32 model input in [-1, 1]."""
    return np.asarray(images, dtype=np.float32) / 127.5 - 1.0


def to_int8(images: np.ndarray) -> np.ndarray:
    """uint8 pixels -> int8 model input (pixel - 128), the int8 export's quantization of `to_float`."""
    return pixel_to_int8(images)


def augment_batch(images, seed, image_size: int = 96, augment: bool = True):
    """TensorFlow: uint8 [B, S, S(, C)] -> float32 [B, image_size, image_size, C] in [-1, 1].

    `seed` is a 2-element int tensor (e.g. [run seed, step]) for stateless random numbers.
    With augment=False it is the eval preprocessing (central crop + resize), in TF.
    """
    import tensorflow as tf

    images = tf.convert_to_tensor(images)
    if images.shape.rank == 3:
        images = images[..., None]
    x = tf.cast(images, tf.float32) / 255.0
    batch = tf.shape(x)[0]
    if not augment:
        size = x.shape[1]
        start, length = central_crop_box(size)
        lo, hi = start / size, (start + length) / size
        boxes = tf.tile(tf.constant([[lo, lo, hi, hi]], tf.float32), [batch, 1])
        x = _crop_resize(x, boxes, image_size)
        return (x - 0.5) * 2.0

    seeds = tf.random.experimental.stateless_split(tf.cast(seed, tf.int64), num=6)
    area = tf.random.stateless_uniform([batch], seeds[0], *CROP_AREA_RANGE)
    log_aspect = tf.random.stateless_uniform(
        [batch], seeds[1], float(np.log(CROP_ASPECT_RANGE[0])), float(np.log(CROP_ASPECT_RANGE[1]))
    )
    aspect = tf.exp(log_aspect)  # width / height
    h = tf.minimum(tf.sqrt(area / aspect), 1.0)
    w = tf.minimum(tf.sqrt(area * aspect), 1.0)
    offsets = tf.random.stateless_uniform([batch, 2], seeds[2])
    y0 = offsets[:, 0] * (1.0 - h)
    x0 = offsets[:, 1] * (1.0 - w)
    boxes = tf.stack([y0, x0, y0 + h, x0 + w], axis=1)
    x = _crop_resize(x, boxes, image_size)

    flip = tf.random.stateless_uniform([batch, 1, 1, 1], seeds[3]) < 0.5
    x = tf.where(flip, tf.reverse(x, axis=[2]), x)
    delta = tf.random.stateless_uniform([batch, 1, 1, 1], seeds[4], -BRIGHTNESS_DELTA, BRIGHTNESS_DELTA)
    x = x + delta
    factor = tf.random.stateless_uniform([batch, 1, 1, 1], seeds[5], *CONTRAST_RANGE)
    mean = tf.reduce_mean(x, axis=[1, 2, 3], keepdims=True)
    x = tf.clip_by_value((x - mean) * factor + mean, 0.0, 1.0)
    return (x - 0.5) * 2.0


def _crop_resize(x, boxes, image_size):
    import tensorflow as tf

    # crop_and_resize maps box corners onto pixel centers ((size-1) scaling); shrink by half a pixel on
    # each side so a full box samples like tf.image.resize's half-pixel centers.
    size = tf.cast(tf.shape(x)[1], tf.float32)
    span = boxes[:, 2:] - boxes[:, :2]
    half = 0.5 * span / float(image_size)
    lo = boxes[:, :2] + half
    hi = boxes[:, 2:] - half
    box_px = tf.concat([lo * size - 0.5, hi * size - 0.5], axis=1) / (size - 1.0)
    box_indices = tf.range(tf.shape(x)[0])
    return tf.image.crop_and_resize(x, box_px, box_indices, [image_size, image_size], method="bilinear")
