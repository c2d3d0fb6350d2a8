"""Where the firmware project is: the one lookup every command that builds or runs firmware asks.

The firmware project is `platformio.ini` plus `firmware/` (core, board layers, kernels, PlatformIO scripts,
the QEMU Makefile). In a source checkout it is the checkout itself, so a developer's edits build at once.
A wheel carries a copy as package data (`vwwdeploy/firmware/project/`, put there by setup.py), but
site-packages is no place to build in: PlatformIO writes `.pio/` and `firmware/generated/` next to
`platformio.ini`, and a pipx venv may be read-only. So the packaged copy is unpacked once per content into
the user cache and built there.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from pathlib import Path

from vwwdeploy.errors import UserError
from vwwdeploy.paths import cache_dir

PACKAGED = Path(__file__).resolve().parent / "project"
# What makes a folder a firmware project; both the checkout test and the wheel test ask for these.
MARKERS = ("platformio.ini", "firmware/core", "firmware/boards/qemu_an386/Makefile")


def is_project(folder: Path) -> bool:
    return all((folder / m).exists() for m in MARKERS)


def checkout_root() -> Path | None:
    """The source checkout this package was imported from, if it is one (an editable install)."""
    here = Path(__file__).resolve().parents[2]
    return here if is_project(here) else None


def project_root() -> Path:
    """The firmware project to build in: the checkout, else the wheel's copy unpacked into the cache."""
    root = checkout_root()
    if root is not None:
        return root
    if is_project(PACKAGED):
        return _unpacked(PACKAGED)
    raise UserError(
        "the firmware sources are not installed with this vwwdeploy (no firmware/ in the package or next "
        "to it): install the wheel built from the repo (`pip wheel .`), or `pip install -e .` in a checkout"
    )


def content_key(folder: Path) -> str:
    """A digest of every file's path and bytes: a changed package unpacks into a new folder."""
    digest = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file() and "__pycache__" not in p.parts):
        digest.update(path.relative_to(folder).as_posix().encode() + b"\0")
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def _unpacked(packaged: Path) -> Path:
    target = cache_dir() / "project" / content_key(packaged)
    if is_project(target):
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    # Copied beside and renamed into place, so two commands started at once never build in a half copy.
    staging = Path(tempfile.mkdtemp(prefix=".unpack-", dir=target.parent))
    try:
        shutil.copytree(packaged, staging / "p", ignore=shutil.ignore_patterns("__pycache__"))
        os.replace(staging / "p", target)
    except OSError:
        if not is_project(target):
            raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target
