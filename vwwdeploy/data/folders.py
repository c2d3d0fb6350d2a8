"""Datasets from the user's own pictures: class folders and/or `file,label` CSVs, into the same store as the
COCO build (a dataset folder with train/ and val/ splits).

The classes are the ones the build is asked for, in that order: the person task (0 = notperson, 1 = person, the
VWW labels, so a folder set fine-tunes the person detector as it is) unless `--classes a,b,c` names others. A class
index is the class's position in that list, never the sort order of the names found. Folder names (one sub-folder
per class) and a CSV's labels (a class name, or its index: 0 / 1 for the person task) must be among those classes:
an unknown one is refused with the file, the line and the value, before anything is written (a typo'd 7 in a 0/1
file must not become a third class). Several sources can be given and are combined. The train/val split is a seeded
per-class shuffle (`--val-fraction`), so every class appears in both parts. Files that cannot be decoded are
skipped, counted and listed in the build report (dataset.json), never fatal. Everything is checked before
anything is written, and output appears only when the whole build succeeded.
"""

from __future__ import annotations

import csv
import os
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from vwwdeploy.atomic import atomic_dir
from vwwdeploy.data import decode
from vwwdeploy.data.builder_steps import check_output, start_pool
from vwwdeploy.data.store import DEFAULT_SHARD_SIZE, SplitWriter
from vwwdeploy.errors import UserError

VWW_CLASSES = ["notperson", "person"]
EXAMPLES_LISTED = 20
CHUNK = 32


@dataclass
class FolderOptions:
    size: int = 128
    rgb: bool = False
    val_fraction: float = 0.2
    seed: int = 0
    workers: int | None = None
    shard_size: int = DEFAULT_SHARD_SIZE
    camera_like_seed: int | None = None
    quiet: bool = False
    classes: tuple[str, ...] = tuple(VWW_CLASSES)


def parse_classes(text: str) -> tuple[str, ...]:
    """`--classes notperson,person`: the class names in index order; distinct and non-empty."""
    names = tuple(name.strip() for name in text.split(","))
    if len(names) < 2 or not all(names):
        raise UserError(f"--classes {text!r}: give at least two comma-separated class names (index order)")
    doubled = sorted({n for n in names if names.count(n) > 1})
    if doubled:
        raise UserError(f"--classes {text!r}: {doubled[0]!r} is listed twice")
    return names


def _asked_for(classes: Sequence[str]) -> str:
    if list(classes) == VWW_CLASSES:
        return "the person task's classes notperson/person (CSV labels 0/1); give --classes a,b,... to build others"
    return f"--classes {','.join(classes)} (a name, or its index 0..{len(classes) - 1})"


def _folder_items(root: Path, classes: Sequence[str]) -> list[tuple[str, str]]:
    """(file, class name) of every non-hidden file in each sub-folder of `root` (recursively)."""
    root = Path(root)
    if not root.is_dir():
        raise UserError(f"--folders {root}: no such folder")
    items = []
    found = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    if not found:
        raise UserError(f"--folders {root} has no class sub-folders (expected one sub-folder per class)")
    unknown = [p.name for p in found if p.name not in classes]
    if unknown:
        raise UserError(f"--folders {root}: sub-folder {unknown[0]!r} is not one of {_asked_for(classes)}")
    for folder in found:
        for dirpath, dirnames, filenames in os.walk(folder):
            dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
            items.extend((os.path.join(dirpath, f), folder.name) for f in sorted(filenames) if not f.startswith("."))
    if not items:
        raise UserError(f"--folders {root}: its class folders ({', '.join(p.name for p in found)}) hold no files")
    return items


def _csv_items(path: Path, classes: Sequence[str]) -> list[tuple[str, str]]:
    """(file, class name) rows of a `file,label` CSV; relative paths are relative to the CSV's folder.

    A label is a class name or its index in `classes`; any other value is refused with its line number (all
    of them are checked first, so the message can say how many rows are wrong).
    """
    path = Path(path)
    if not path.is_file():
        raise UserError(f"--csv {path}: no such file")
    by_value = {str(i): name for i, name in enumerate(classes)} | {name: name for name in classes}
    items, bad = [], []
    try:
        with open(path, newline="", encoding="utf-8") as fh:
            reader = csv.reader(fh)
            for row in reader:
                line = reader.line_num  # the physical line, also past quoted newlines
                if not row or not "".join(row).strip():
                    continue
                if not items and not bad and [c.strip().lower() for c in row[:2]] == ["file", "label"]:
                    continue
                if len(row) < 2 or not row[0].strip() or not row[1].strip():
                    raise UserError(f"--csv {path} line {line}: expected `file,label`, got {','.join(row)!r}")
                file, label = row[0].strip(), row[1].strip()
                if label not in by_value:
                    bad.append((line, label))
                    continue
                items.append((file if os.path.isabs(file) else str(path.parent / file), by_value[label]))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise UserError(f"--csv {path}: unreadable ({exc})") from None
    if bad:
        line, label = bad[0]
        others = [str(n) for n, _ in bad[1:]]
        more = (
            f" ({len(others)} more: line {', '.join(others[:5])}{', ...' if len(others) > 5 else ''})" if others else ""
        )
        raise UserError(
            f"--csv {path} line {line}: label {label!r} is not one of {_asked_for(classes)}{more}; nothing written"
        )
    if not items:
        raise UserError(f"--csv {path} lists no files")
    return items


def split_indices(labels: np.ndarray, val_fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(train, val) row indices: per class, a seeded shuffle puts round(n * fraction) rows (at least 1) in val."""
    train, val = [], []
    for c in np.unique(labels):
        rows = np.flatnonzero(labels == c)
        rows = rows[np.random.default_rng([seed, int(c)]).permutation(len(rows))]
        n_val = min(len(rows) - 1, max(1, int(round(len(rows) * val_fraction))))
        val.extend(rows[:n_val])
        train.extend(rows[n_val:])
    return np.sort(np.array(train, dtype=np.int64)), np.sort(np.array(val, dtype=np.int64))


def _decode(files: list[str], options: FolderOptions) -> tuple[dict[int, np.ndarray], Counter, dict]:
    from vwwdeploy.progress import progress_bar

    tasks = [
        ([(row, files[row]) for row in range(start, min(start + CHUNK, len(files)))], options.size, options.rgb)
        for start in range(0, len(files), CHUNK)
    ]
    workers = max(1, min(options.workers or os.cpu_count() or 1, len(tasks)))
    images: dict[int, np.ndarray] = {}
    counts: Counter[str] = Counter()
    unreadable: dict[str, list[str]] = {}
    pool = start_pool(workers) if workers > 1 else None
    try:
        with progress_bar(transient=options.quiet) as bar:
            task = bar.add_task("decoding pictures", total=len(files))
            results = pool.imap(decode.decode_chunk, tasks) if pool else map(decode.decode_chunk, tasks)
            for kept, stacked, outcomes, _ in results:
                for row, outcome in outcomes:
                    counts[outcome] += 1
                    if outcome in decode.SKIPPED:
                        listed = unreadable.setdefault(outcome, [])
                        if len(listed) < EXAMPLES_LISTED:
                            listed.append(files[row])
                images.update(zip(kept, stacked))
                bar.advance(task, len(outcomes))
    finally:
        if pool is not None:
            pool.terminate()
            pool.join()
    return images, counts, unreadable


def build_from_sources(
    out, folders: Sequence[Path] = (), csvs: Sequence[Path] = (), options: FolderOptions | None = None
) -> dict[str, dict]:
    """`dataset build --folders/--csv`: out/train and out/val. Returns {split name: manifest}."""

    options = options or FolderOptions()
    if not folders and not csvs:
        raise UserError("give at least one --folders DIR or --csv FILE")
    if not 0.0 < options.val_fraction < 1.0:
        raise UserError(f"--val-fraction must be between 0 and 1 (exclusive), not {options.val_fraction}")
    out = Path(out)
    items: list[tuple[str, str]] = []
    names = list(options.classes)
    for folder in folders:
        items.extend(_folder_items(folder, names))
    for path in csvs:
        items.extend(_csv_items(path, names))
    found = {label for _, label in items}
    if len(found) < 2:
        raise UserError(
            f"only one class ({found.pop()!r}) in the sources; a classifier needs at least two "
            "(e.g. add a folder of pictures without it)"
        )
    index = {name: i for i, name in enumerate(names)}
    files = [f for f, _ in items]
    labels = np.array([index[label] for _, label in items], dtype=np.int64)
    check_output(out)

    images, counts, unreadable = _decode(files, options)
    kept = np.array(sorted(images), dtype=np.int64)
    if len(kept) == 0:
        raise UserError(f"none of the {len(files)} files could be decoded as a picture; nothing written")
    kept_labels = labels[kept]
    present = set(kept_labels.tolist())
    missing = [n for i, n in enumerate(names) if i not in present]
    if missing:
        raise UserError(f"no readable picture of class {missing[0]!r}; every class needs some")
    few = [n for i, n in enumerate(names) if (kept_labels == i).sum() < 2]
    if few:
        raise UserError(f"class {few[0]!r} has only one readable picture; each class needs 2 (one train, one val)")
    train_rows, val_rows = split_indices(kept_labels, options.val_fraction, options.seed)
    skipped = {reason: counts[reason] for reason in decode.SKIPPED}
    report = {
        "files_listed": len(files),
        "images_stored": int(len(kept)),
        "unreadable": int(sum(skipped.values())),
        **decode.outcome_report(counts),
        "unreadable_files": unreadable,
        "val_fraction": options.val_fraction,
        "split_seed": options.seed,
        "camera_like_seed": options.camera_like_seed,
    }
    sources = {"folders": [str(f) for f in folders], "csv": [str(c) for c in csvs]}
    manifests = {}
    with atomic_dir(out) as tmp:
        for split, rows in (("train", train_rows), ("val", val_rows)):
            writer = SplitWriter(tmp / split, options.size, 3 if options.rgb else 1, shard_size=options.shard_size)
            order = kept[rows]
            stacked = np.stack([images[r] for r in order])
            if options.camera_like_seed is not None:
                from vwwdeploy.data.camera_like import camera_like

                stacked = camera_like(stacked, options.camera_like_seed)
            writer.add(stacked, [(str(r), files[r], int(labels[r])) for r in order])
            per_class = {n: int((labels[order] == i).sum()) for i, n in enumerate(names)}
            manifests[split] = writer.finish(
                split=split,
                categories=names if names != VWW_CLASSES else ["person"],
                label_names=names,
                report={**report, "per_class": per_class},
                extra={"source": sources, "label_rule": "class from folder name or CSV label"},
            )
    return manifests


def summary_line(manifest: dict) -> str:
    r = manifest["report"]
    classes = ", ".join(f"{count} {name}" for name, count in r["per_class"].items())
    listed = [f for files in r["unreadable_files"].values() for f in files]
    tail = f" (e.g. {', '.join(listed[:3])})" if listed else ""
    camera = " [camera-like]" if r.get("camera_like_seed") is not None else ""
    return (
        f"{manifest['split']}{camera}: {manifest['count']} images ({classes}); of {r['files_listed']} files listed, "
        f"{r['unreadable']} unreadable{tail}"
    )
