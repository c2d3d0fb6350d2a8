"""Write outputs so that a failure never leaves a half-written result that a later step would accept."""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

from vwwdeploy.errors import UserError


def check_writable_dir(out: Path) -> None:
    """Fail early, with one line, when `out`'s parent cannot take a new directory."""
    parent = out.resolve().parent
    parent_existing = parent
    while not parent_existing.exists():
        parent_existing = parent_existing.parent
    if not os.access(parent_existing, os.W_OK | os.X_OK):
        raise UserError(f"cannot write to {parent_existing}: permission denied")
    if out.exists() and not out.is_dir():
        raise UserError(f"{out} exists and is not a directory")


@contextlib.contextmanager
def atomic_dir(out: Path, overwrite: bool = True) -> Iterator[Path]:
    """Yield a temporary sibling of `out`; on success it replaces `out`, on failure it is removed.

    Renaming a sibling directory is atomic on POSIX, so readers see either the old result or the
    new one, never a mixture.
    """
    out = Path(out)
    check_writable_dir(out)
    if out.exists() and any(out.iterdir()) and not overwrite:
        raise UserError(f"{out} already exists and is not empty (choose another --out)")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.tmp-", dir=out.parent))
    try:
        yield tmp
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    old = None
    if out.exists():
        old = out.parent / f".{out.name}.old-{os.getpid()}"
        os.rename(out, old)
    os.rename(tmp, out)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write a file via a temporary sibling and rename, so readers never see a truncated file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if not os.access(path.parent, os.W_OK):
        raise UserError(f"cannot write to {path.parent}: permission denied")
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.tmp-", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def atomic_write_text(path: Path, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))
