"""A seeded "camera-like" view of ordinary pictures: what the SparkFun Edge's HM01B0 (a small monochrome
low-power sensor behind a tiny lens) tends to deliver, for users without photos from the board itself.

Per picture, in this order: lens blur (Gaussian, sigma 0.3-1.2 px at the stored size), low light (exposure
x0.25-0.8), sensor gamma (x ** 0.8-1.25), vignetting (brightness falls by 15-50 % towards the corners, as
1 - v * r^2), then noise that grows with the signal (shot noise) on top of a floor (read noise), and
rounding back to 8 bits. Every draw comes from numpy's generator seeded with (seed, picture index), so a
picture looks the same whichever batch it is processed in, and two runs with one seed are identical.
"""

from __future__ import annotations

import numpy as np

BLUR_SIGMA = (0.3, 1.2)
EXPOSURE = (0.25, 0.8)
GAMMA = (0.8, 1.25)
VIGNETTE = (0.15, 0.5)
SHOT_NOISE = (0.002, 0.01)  # variance per unit of signal (signal in [0, 1])
READ_NOISE = (1.0 / 255, 4.0 / 255)  # standard deviation of the floor


def _gaussian_kernel(sigma: float) -> np.ndarray:
    radius = max(1, int(np.ceil(3 * sigma)))
    x = np.arange(-radius, radius + 1, dtype=np.float32)
    k = np.exp(-0.5 * (x / sigma) ** 2)
    return k / k.sum()


def _blur(image: np.ndarray, sigma: float) -> np.ndarray:
    """Separable Gaussian blur of [H, W, C] float, edges extended (no dark border)."""
    k = _gaussian_kernel(sigma)
    r = len(k) // 2
    padded = np.pad(image, ((r, r), (0, 0), (0, 0)), mode="edge")
    rows = sum(k[i] * padded[i : i + image.shape[0]] for i in range(len(k)))
    padded = np.pad(rows, ((0, 0), (r, r), (0, 0)), mode="edge")
    return sum(k[i] * padded[:, i : i + image.shape[1]] for i in range(len(k)))


def camera_like_one(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """uint8 [H, W] or [H, W, C] -> the same shape, camera-like."""
    squeeze = image.ndim == 2
    x = np.asarray(image, dtype=np.float32)[..., None] / 255.0 if squeeze else np.asarray(image, np.float32) / 255.0
    x = _blur(x, rng.uniform(*BLUR_SIGMA))
    x = x * rng.uniform(*EXPOSURE)
    x = np.power(np.clip(x, 0.0, 1.0), rng.uniform(*GAMMA))
    h, w = x.shape[:2]
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    r2 = ((yy - (h - 1) / 2) / (h / 2)) ** 2 + ((xx - (w - 1) / 2) / (w / 2)) ** 2
    x = x * (1.0 - rng.uniform(*VIGNETTE) * r2 / 2.0)[..., None]  # r2 reaches 2 in the corners
    std = np.sqrt(rng.uniform(*SHOT_NOISE) * np.clip(x, 0, 1) + rng.uniform(*READ_NOISE) ** 2)
    x = x + rng.standard_normal(x.shape).astype(np.float32) * std
    out = np.clip(np.rint(x * 255.0), 0, 255).astype(np.uint8)
    return out[..., 0] if squeeze else out


def camera_like(images: np.ndarray, seed: int, first_index: int = 0) -> np.ndarray:
    """uint8 [N, H, W(, C)] -> camera-like copies; picture i uses the generator seeded (seed, first_index + i)."""
    images = np.asarray(images)
    if images.dtype != np.uint8 or images.ndim not in (3, 4):
        raise ValueError(f"expected uint8 [N, H, W] or [N, H, W, C] pictures, got {images.dtype} {images.shape}")
    out = np.empty_like(images)
    for i in range(len(images)):
        out[i] = camera_like_one(images[i], np.random.default_rng([int(seed), first_index + i]))
    return out
