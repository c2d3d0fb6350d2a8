"""The sim's camera: 324x244 grayscale sensor frames from a folder of pictures, or a procedural scene."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np

from vwwdeploy.errors import UserError
from vwwdeploy.link.protocol.pipeline import RAW_SHAPE, frame_from_image

COMMON_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".ppm", ".pgm")


def image_suffixes() -> set[str]:
    """Every file extension Pillow can open (its registered plug-ins)."""
    from PIL import Image

    Image.init()
    return {ext.lower() for ext in Image.registered_extensions()} | set(COMMON_SUFFIXES)


def procedural_frame(index: int) -> np.ndarray:
    """A deterministic scene: shaded background, a drifting figure-like shape, sensor noise."""
    h, w = RAW_SHAPE
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    t = index * 0.15
    scene = 90 + 35 * np.sin(x / 41 + t * 0.3) + 25 * np.cos(y / 29 - t * 0.2)
    cx, cy = 162 + 70 * np.sin(t * 0.4), 132 + 10 * np.cos(t * 0.5)
    head = (x - cx) ** 2 + (y - cy + 55) ** 2 < 18**2
    body = (np.abs(x - cx) < 24) & (y > cy - 35) & (y < cy + 60)
    scene = np.where(head | body, 200 - 0.3 * (y - cy), scene)
    noise = np.random.default_rng(index).normal(0, 3, size=(h, w))
    return np.clip(scene + noise, 0, 255).astype(np.uint8)


class Camera:
    """Cycles through the pictures of `folder` (any PIL-readable file), or the procedural scene."""

    def __init__(self, folder: str | Path | None = None):
        self.files: list[Path] = []
        if folder is not None:
            folder = Path(folder)
            if not folder.is_dir():
                raise UserError(f"camera folder {folder} does not exist or is not a folder")
            suffixes = image_suffixes()
            self.files = sorted(p for p in folder.iterdir() if p.suffix.lower() in suffixes and p.is_file())
            if not self.files:
                raise UserError(
                    f"camera folder {folder} holds no pictures Pillow can read ({', '.join(COMMON_SUFFIXES)}, ...)"
                )
        self._index = 0
        self._cache: dict[int, np.ndarray] = {}
        self._lock = threading.Lock()

    @property
    def description(self) -> str:
        return f"{len(self.files)} pictures" if self.files else "procedural scene"

    def frame(self) -> np.ndarray:
        """The next 244x324 uint8 sensor frame."""
        with self._lock:
            index = self._index
            self._index += 1
        return self.frame_at(index)

    def frame_at(self, index: int) -> np.ndarray:
        """Sensor frame number `index` (0, 1, ...): picture index mod the folder size, or the procedural scene's
        frame `index`; the Edge emulator's sensor model numbers its frames this way."""
        if not self.files:
            return procedural_frame(index)
        k = index % len(self.files)
        if k not in self._cache:
            from PIL import Image

            try:
                with Image.open(self.files[k]) as img:
                    raw = frame_from_image(img)
            except Exception as exc:  # an unreadable picture must not kill the board
                raise OSError(f"cannot read {self.files[k].name}: {exc}") from None
            if len(self._cache) < 512:
                self._cache[k] = raw
            return raw
        return self._cache[k]
