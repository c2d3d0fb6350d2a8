"""Draw docs/img/camera-like.png: synthetic scenes (vwwdeploy.data.synthetic, no photos) above their camera-like view.

Run: python3 tools/camera_like_figure.py [OUT.png]
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from vwwdeploy.data.camera_like import camera_like
from vwwdeploy.data.synthetic import _draw_image

SIZE = 128  # the dataset store's default size
COUNT = 6
SEED = 0


def figure() -> Image.Image:
    rng = np.random.default_rng(SEED)
    scenes = []
    for i in range(COUNT):
        img, _ = _draw_image(rng, positive=i % 2 == 0, tiny=False)
        scenes.append(np.asarray(img.convert("L").resize((SIZE, SIZE), Image.Resampling.BILINEAR), dtype=np.uint8))
    plain = np.stack(scenes)
    camera = camera_like(plain, seed=SEED)
    gap, label = 4, 16
    sheet = Image.new("L", (COUNT * (SIZE + gap) + gap, 2 * (SIZE + label) + gap), 255)
    draw = ImageDraw.Draw(sheet)
    for row, (title, images) in enumerate((("stored picture", plain), (f"--camera-like {SEED}", camera))):
        top = row * (SIZE + label)
        draw.text((gap, top + 2), title, fill=0)
        for i, image in enumerate(images):
            sheet.paste(Image.fromarray(image), (gap + i * (SIZE + gap), top + label))
    return sheet


if __name__ == "__main__":
    out = Path(sys.argv[1] if len(sys.argv) > 1 else "docs/img/camera-like.png")
    figure().save(out, optimize=True)
    print(out)
