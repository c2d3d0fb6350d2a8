"""Refuse output paths that would destroy an input or land inside a dataset."""

from __future__ import annotations

from pathlib import Path

from vwwdeploy.errors import UserError


def _dataset_root(path: Path) -> Path | None:
    """The dataset folder `path` is in (or is): a split folder has dataset.json, a dataset folder
    from --coco-dir holds train/ and val/ split folders."""
    for p in [path, *path.parents]:
        if (
            (p / "dataset.json").is_file()
            or (p / "train" / "dataset.json").is_file()
            or (p / "val" / "dataset.json").is_file()
        ):
            return p
    return None


def _same(a: Path, b: Path) -> bool:
    try:
        return a.resolve() == b.resolve() or (a.exists() and b.exists() and a.samefile(b))
    except OSError:
        return False


def check_output(out: Path, inputs: list[Path], flag: str, files: list[str] | None = None) -> None:
    """`out` is an output file (files=None) or a directory that will receive `files`."""
    out = Path(out)
    targets = [out] if files is None else [out / f for f in files]
    for inp in inputs:
        if files is not None and _same(out, inp):
            raise UserError(f"{flag} {out} is the input model itself; give a directory for the generated sources")
        for t in targets:
            if _same(t, inp):
                raise UserError(f"{flag} {out} would overwrite the input {inp}; choose another output path")
    root = _dataset_root(out.resolve() if files is not None else out.resolve().parent)
    if root is not None:
        raise UserError(f"{flag} {out} is inside the dataset folder {root}; write model outputs elsewhere")
    if files is None and out.exists() and out.is_dir():
        raise UserError(f"{flag} {out} is a directory; give a file name for the repaired model")
