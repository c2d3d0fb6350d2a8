"""What both dataset builders (COCO and the user's folders) do around their decoding: check the output folder
before anything is written, give the finished folder the usual permissions, start the decode worker pool."""

from __future__ import annotations

import multiprocessing
import os
import sys
import tempfile
import threading
from pathlib import Path

from vwwdeploy.data.store import MANIFEST
from vwwdeploy.errors import UserError

# The split folders both builders write (the keys of build.COCO_SPLITS).
SPLIT_NAMES = ("train", "val")


def check_output(out: Path) -> None:
    """Refuse an --out we cannot write, or one that holds something other than a dataset we built (we replace it)."""
    out = Path(out)
    if out.exists():
        if not out.is_dir():
            raise UserError(f"--out {out} exists and is not a directory")
        entries = [p.name for p in out.iterdir()]
        ours = (out / MANIFEST).is_file() or any((out / s / MANIFEST).is_file() for s in SPLIT_NAMES)
        if entries and not ours:
            raise UserError(f"--out {out} exists and is not a vwwdeploy dataset; choose an empty or new folder")
    ancestor = out.resolve().parent
    while not ancestor.exists():
        ancestor = ancestor.parent
    if not ancestor.is_dir():
        raise UserError(f"cannot create --out {out}: {ancestor} is not a directory")
    try:  # os.access says yes to root even on read-only mounts; a real probe does not lie.
        probe = tempfile.mkdtemp(prefix=".vwwdeploy-probe-", dir=ancestor)
        os.rmdir(probe)
    except OSError as exc:
        raise UserError(f"cannot write --out {out}: {ancestor}: {exc.strerror}") from None


def start_pool(workers: int):
    """Plain fork is the quickest start, and safe while this process runs no other threads. Otherwise (e.g. the
    caller already runs TensorFlow, whose threads may hold locks at fork time) use a clean forkserver."""
    if threading.active_count() == 1 and "tensorflow" not in sys.modules:
        ctx = multiprocessing.get_context("fork")
    else:
        ctx = multiprocessing.get_context("forkserver")
        ctx.set_forkserver_preload(["vwwdeploy.data.decode"])
    return ctx.Pool(workers)
