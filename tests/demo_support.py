"""Shared by the demo tests: a camera folder of real COCO pictures and what the board must make of them."""

from __future__ import annotations

import csv
import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np


@dataclass
class Expected:
    """For each camera picture and pipeline mode: the 96x96 model input and the scores TFLM gives it."""

    pictures: list[Path]
    frames: dict[int, list[np.ndarray]]  # pipeline mode -> one uint8 96x96 per picture
    scores: dict[int, list[list[int]]]  # pipeline mode -> raw int8 scores per picture

    def match(self, pixels: np.ndarray, mode: int) -> int | None:
        """Which picture `pixels` is (exactly), or None."""
        for k, frame in enumerate(self.frames[mode]):
            if np.array_equal(frame, pixels):
                return k
        return None


def make_camera_dir(coco128: Path, folder: Path) -> list[Path]:
    """Two pictures without a person and one with, as the sim's camera cycles them (sorted by name)."""
    rows = list(csv.DictReader(open(coco128 / "person_presence.csv")))
    person = [r["stem"] for r in rows if r["vww_label"] == "1"][:1]
    other = [r["stem"] for r in rows if r["vww_label"] == "0"][:2]
    folder.mkdir(parents=True, exist_ok=True)
    for i, stem in enumerate(other[:1] + person + other[1:]):
        shutil.copy(coco128 / "images" / f"{stem}.jpg", folder / f"{i}_{stem}.jpg")
    return sorted(folder.iterdir())


def expected_for(model: Path, pictures: list[Path], modes=(0, 1)) -> Expected:
    from vwwdeploy.apps.validation.inputs import camera_pixels
    from vwwdeploy.model.tflm_twin import TflmTwin

    frames = {m: [camera_pixels(p, m) for p in pictures] for m in modes}
    with TflmTwin(model) as twin:
        scores = {
            m: [
                [
                    int(v)
                    for v in np.asarray(
                        twin.invoke((f.astype(np.int16) - 128).astype(np.int8).reshape(1, 96, 96, 1))
                    ).reshape(-1)
                ]
                for f in frames[m]
            ]
            for m in modes
        }
    return Expected(pictures, frames, scores)
