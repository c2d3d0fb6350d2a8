"""The Ctrl-C tests' child starter: SIGINT reaches the child even when the runner ignores it (a background job)."""

from __future__ import annotations

import signal
import subprocess
import sys

from interruptible import popen_interruptible

_REPORT = "import signal; print(signal.getsignal(signal.SIGINT) is signal.default_int_handler)"


def test_child_gets_default_sigint_although_the_runner_ignores_it():
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)  # what `cmd &` in a non-interactive shell does
    try:
        plain = subprocess.run([sys.executable, "-c", _REPORT], capture_output=True, text=True, timeout=60)
        proc = popen_interruptible([sys.executable, "-c", _REPORT], stdout=subprocess.PIPE, text=True)
        out, _ = proc.communicate(timeout=60)
    finally:
        signal.signal(signal.SIGINT, previous)
    assert plain.stdout.strip() == "False"  # the inherited SIG_IGN this helper exists for
    assert out.strip() == "True"
