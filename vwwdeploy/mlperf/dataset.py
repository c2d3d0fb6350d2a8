"""The MLPerf Tiny accuracy-set layout: `y_labels.csv` rows `file,classes,label` next to raw input files
(for vww01: 96x96x3 u8 RGB, 27,648 bytes each, class 0 = no person, 1 = person)."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

from vwwdeploy.errors import UserError

LABELS_FILE = "y_labels.csv"


@dataclass(frozen=True)
class AccuracyFile:
    name: str
    classes: int
    label: int
    path: Path


def read_accuracy_set(folder: Path, expected_bytes: int | None = None) -> list[AccuracyFile]:
    """The files listed in `folder/y_labels.csv`, checked: present, the same class count, labels in range and,
    when `expected_bytes` is given, that many bytes each."""
    folder = Path(folder)
    csv_path = folder / LABELS_FILE
    if not folder.is_dir():
        raise UserError(f"data folder {folder} does not exist or is not a folder")
    if not csv_path.is_file():
        raise UserError(f"{csv_path} is missing: --data takes a folder with y_labels.csv (file,classes,label)")
    files = []
    with open(csv_path, newline="") as fh:
        for lineno, row in enumerate(csv.reader(fh), 1):
            if not row or not "".join(row).strip():
                continue
            if len(row) < 3:
                raise UserError(f"{csv_path}:{lineno}: expected file,classes,label, got {','.join(row)!r}")
            name, classes, label = (c.strip() for c in row[:3])
            try:
                classes_n, label_n = int(classes), int(label)
            except ValueError:
                raise UserError(f"{csv_path}:{lineno}: classes and label must be integers, got {row[1:3]}") from None
            if classes_n < 2 or not 0 <= label_n < classes_n:
                raise UserError(f"{csv_path}:{lineno}: label {label_n} is not a class of {classes_n}")
            path = folder / name
            if not path.is_file():
                raise UserError(f"{csv_path}:{lineno}: {name} does not exist in {folder}")
            if expected_bytes is not None and path.stat().st_size != expected_bytes:
                raise UserError(
                    f"{path} has {path.stat().st_size} bytes; the board takes {expected_bytes} (96x96x3 u8 for vww01)"
                )
            files.append(AccuracyFile(name, classes_n, label_n, path))
    if not files:
        raise UserError(f"{csv_path} lists no files")
    if len({f.classes for f in files}) != 1:
        raise UserError(f"{csv_path}: rows disagree on the number of classes")
    return files
