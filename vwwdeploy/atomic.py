"""Write outputs so that a failure never leaves a half-written result that a later step would accept."""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

from vwwdeploy.errors import UserError


def current_umask() -> int:
    """The process umask; os.umask can only be read by setting it, so set it straight back."""
    umask = os.umask(0o077)
    os.umask(umask)
    return umask


def plain_mode(directory: bool) -> int:
    """The mode a plain open() (0666) or mkdir() (0777) gives under the current umask.

    mkstemp/mkdtemp create 0600/0700 so that nobody else can race into a temporary name; once the
    result is renamed into place it is an ordinary output and must be as readable as any other file.
    """
    return (0o777 if directory else 0o666) & ~current_umask()


def _nearest_existing(path: Path) -> Path:
    path = path.resolve()
    while not path.exists():
        path = path.parent
    return path


def check_writable_dir(out: Path) -> None:
    """Fail early, with one line, when `out` cannot be created or replaced.

    Probes by creating a temporary directory in the nearest existing ancestor: `os.access` says yes to
    root even on /proc or a read-only mount, so only trying tells the truth.
    """
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise UserError(f"{out} exists and is not a directory")
    anchor = _nearest_existing(out.parent)
    if not anchor.is_dir():
        raise UserError(f"cannot write to {out}: {anchor} is a file, not a directory")
    try:
        tempfile.TemporaryDirectory(prefix=".vwwdeploy-probe-", dir=anchor).cleanup()
    except OSError as exc:
        raise UserError(f"cannot write to {out}: {exc.strerror or exc}") from None


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
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.tmp-", dir=out.parent))
        os.chmod(tmp, plain_mode(directory=True))
    except OSError as exc:
        raise UserError(f"cannot write to {out}: {exc.strerror or exc}") from None
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
    if path.is_dir():
        raise UserError(f"{path} is a directory, not a file")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.tmp-", dir=path.parent)
    except OSError as exc:
        raise UserError(f"cannot write to {path}: {exc.strerror or exc}") from None
    try:
        with os.fdopen(fd, "wb") as fh:
            os.fchmod(fh.fileno(), plain_mode(directory=False))
            fh.write(data)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def atomic_write_text(path: Path, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))
