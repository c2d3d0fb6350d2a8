"""Where vwwdeploy keeps things outside the repo."""

from __future__ import annotations

import os
from pathlib import Path


def cache_dir() -> Path:
    """Cache for downloads and upstream sources (TFLM, SDKs): $VWWDEPLOY_CACHE or ~/.cache/vwwdeploy."""
    env = os.environ.get("VWWDEPLOY_CACHE")
    if env:
        return Path(env).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "vwwdeploy"
