"""The SparkFun Edge's self-test arithmetic (firmware/boards/sparkfun_edge/probe_logic.*), compiled for the host
with g++ (AddressSanitizer + UBSan) and run: walking-ones alignment and per-data-line mismatch counts, stack
paint/scan, frame-rate and clock arithmetic, the bounded auto-exposure wait. The hardware side of each probe
(hm01b0.cc, probes.cc) needs a real Edge; this is the part that can be checked here."""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest
from firmware_core_build import CPP_TESTS, HOST_TEST_FLAGS, REPO, cache_key, cached, compile_objects, compiler_id

EDGE = REPO / "firmware" / "boards" / "sparkfun_edge"
SOURCES = [EDGE / "probe_logic.cc", CPP_TESTS / "edge_probe_logic_test.cc", CPP_TESTS / "harness.cc"]
HEADERS = [EDGE / "probe_logic.h", CPP_TESTS / "harness.h"]


@pytest.fixture(scope="module")
def probe_tests():
    if shutil.which("g++") is None:
        pytest.skip("g++ not installed (Debian package g++)")
    flags = [*HOST_TEST_FLAGS, f"-I{EDGE}", f"-I{CPP_TESTS}"]

    def build(tmp):
        objs = compile_objects("g++", flags, SOURCES, tmp / "obj")
        exe = tmp / "edge_probe_tests"
        subprocess.run(["g++", *flags, *map(str, objs), "-o", str(exe)], check=True, capture_output=True)
        return exe

    return cached("edge_probe_tests", cache_key(compiler_id("g++"), flags, files=[*SOURCES, *HEADERS]), build)


def _run(binary, name_filter=""):
    return subprocess.run([str(binary)] + ([name_filter] if name_filter else []), capture_output=True, text=True)


def test_probe_logic_unit_tests_pass(probe_tests):
    proc = _run(probe_tests)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    names = re.findall(r"^ok\s+(\S+)$", proc.stdout, re.M)
    assert len(names) >= 12, proc.stdout
    for group in ("walking_ones_", "stack_", "fps_", "clock_", "ae_wait_"):
        assert any(n.startswith(group) for n in names), group


def test_probe_logic_must_not_include_the_sdk():
    # The logic is host-tested only because it stays free of the AmbiqSuite headers.
    for path in (EDGE / "probe_logic.h", EDGE / "probe_logic.cc"):
        includes = re.findall(r'#\s*include\s*[<"]([^>"]+)[>"]', path.read_text())
        assert set(includes) <= {"cstddef", "cstdint", "probe_logic.h"}, (path.name, includes)
