"""Start a child that Ctrl-C (SIGINT) can stop, however the test runner itself was launched.

A shell starts a background job (`nohup scripts/test &`, some CI runners) with SIGINT ignored, and an
ignored disposition survives fork and exec: the child would never see the test's SIGINT. Resetting it
to the default in the child, before exec, lets Python install its KeyboardInterrupt handler as usual.
"""

from __future__ import annotations

import signal
import subprocess


def _default_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def popen_interruptible(argv: list[str], **kwargs) -> subprocess.Popen:
    """subprocess.Popen(argv, **kwargs) with SIGINT at its default disposition in the child."""
    return subprocess.Popen(argv, preexec_fn=_default_sigint, **kwargs)
