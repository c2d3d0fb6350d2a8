"""The portable firmware core (firmware/core/): host unit tests in C++ and the Cortex-M4F cross-compile.

The C++ tests (firmware/tests/) check the protocol against the golden vectors the Python reference made
(tests/vectors/), the image pipeline, and the command loop with a fake transport, board and classifier.
They are built with AddressSanitizer + UBSan and run here, one pytest test per group.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess

import pytest
from firmware_core_build import (
    ARM_CXX,
    ARM_FLAGS,
    CORE,
    CPP_TESTS,
    PORTABLE_SOURCES,
    TFLM_SOURCES,
    VECTORS,
    host_test_binary,
    run_host_tests,
)

# Every C++ test name starts with one of these; each group is one pytest test.
GROUPS = [
    "crc_",
    "frames_",
    "encode_frame_",
    "streams_",
    "decoder_",
    "messages_",
    "info_",
    "stream_start_",
    "error_",
    "pipeline_",
    "test_pattern_",
    "loop_",
    "device_vectors_",
    "mlperf_",
    "report_",
    "selftest_",
]


@pytest.fixture(scope="module")
def core_tests():
    if shutil.which("g++") is None:
        pytest.skip("g++ not installed (Debian package g++)")
    return host_test_binary()


@pytest.mark.parametrize("group", GROUPS)
def test_core_unit_tests(core_tests, group):
    proc = run_host_tests(core_tests, group)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert re.search(r"^ok  ", proc.stdout, re.M), proc.stdout


def test_every_cpp_test_belongs_to_a_group(core_tests):
    proc = run_host_tests(core_tests, "")
    names = re.findall(r"^(?:ok  |FAIL) (\S+)$", proc.stdout, re.M)
    assert len(names) >= 35, proc.stdout
    assert [n for n in names if not n.startswith(tuple(GROUPS))] == []
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_harness_reports_failure_and_unknown_filter(core_tests):
    # A filter that matches nothing must fail loudly rather than pass vacuously.
    proc = run_host_tests(core_tests, "no_such_test_name")
    assert proc.returncode == 2
    assert "no test matches" in proc.stderr


def test_cpp_tests_fail_when_vectors_are_wrong(core_tests, tmp_path):
    # Point the tests at a corrupted copy of the vectors: the golden comparison must notice.
    copy = tmp_path / "vectors"
    shutil.copytree(VECTORS, copy)
    raw = copy / "pipeline" / "gradient.decimate"
    data = bytearray(raw.read_bytes())
    data[100] ^= 1
    raw.write_bytes(bytes(data))
    env = dict(os.environ, VWW_VECTORS=str(copy))
    proc = subprocess.run([str(core_tests), "pipeline_matches"], capture_output=True, text=True, env=env)
    assert proc.returncode == 1
    assert "gradient decimate" in proc.stderr


def test_command_loop_fails_on_a_wrong_device_vector(core_tests, tmp_path):
    # The device-behaviour vectors are shared with the simulated board; one wrong expected reply must fail.
    copy = tmp_path / "vectors"
    shutil.copytree(VECTORS, copy)
    behaviour = copy / "device" / "behaviour.txt"
    lines = behaviour.read_text().splitlines()
    i = next(i for i, line in enumerate(lines) if line.startswith("reply 130 "))  # the first RESULT
    fields = lines[i].split(" ")
    fields[3] = fields[3][:-2] + ("01" if fields[3].endswith("00") else "00")  # the last score byte
    lines[i] = " ".join(fields)
    behaviour.write_text("\n".join(lines) + "\n")
    env = dict(os.environ, VWW_VECTORS=str(copy))
    proc = subprocess.run([str(core_tests), "device_vectors_command_loop"], capture_output=True, text=True, env=env)
    assert proc.returncode == 1
    assert "reply 0: payload" in proc.stderr


# --- hygiene: what the portable core may include -------------------------------------------------------

# What codegen and the kernel generator write beside the model (firmware/generated/ or the build cache).
GENERATED_HEADERS = ("model_data.h", "model_settings.h", "vww_generated_kernels.h")
INCLUDE = re.compile(r'^\s*#\s*include\s*([<"])([^>"]+)[>"]', re.M)


@pytest.mark.parametrize("path", sorted(CORE.glob("*.[hc]*")), ids=lambda p: p.name)
def test_core_includes_only_std_and_core_headers(path):
    tflm_file = path.stem == "tflm_classifier"
    for kind, name in INCLUDE.findall(path.read_text()):
        if kind == "<":
            assert "/" not in name and not name.endswith(".h"), f"{path.name} includes <{name}>: C++ std headers only"
        elif tflm_file and (name.startswith("tensorflow/") or name in GENERATED_HEADERS):
            continue
        else:
            assert (CORE / name).is_file(), f'{path.name} includes "{name}", which is not a core header'


# --- Cortex-M4F cross-compile ----------------------------------------------------------------------------

# Symbols a bare-metal build must not need: heap, guarded statics, exit-time destructors, exceptions.
FORBIDDEN_UNDEFINED = (
    "malloc",
    "free",
    "_Znwj",
    "_Znaj",
    "_ZdlPv",
    "_ZdlPvj",
    "__cxa_guard_acquire",
    "__cxa_atexit",
    "__aeabi_atexit",
    "__cxa_throw",
    "__gxx_personality_v0",
    "printf",
)


def _need_arm():
    if shutil.which(ARM_CXX) is None:
        pytest.skip(f"{ARM_CXX} not installed (Debian packages gcc-arm-none-eabi, libstdc++-arm-none-eabi-newlib)")


@pytest.mark.parametrize("source", PORTABLE_SOURCES, ids=lambda p: p.name)
def test_cross_compiles_for_cortex_m4f(source, tmp_path):
    _need_arm()
    obj = tmp_path / (source.stem + ".o")
    proc = subprocess.run(
        [ARM_CXX, *ARM_FLAGS, "-Wall", "-Wextra", "-Werror", f"-I{CORE}", "-c", str(source), "-o", str(obj)],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stderr
    nm = subprocess.run(["arm-none-eabi-nm", "-u", str(obj)], capture_output=True, text=True, check=True).stdout
    undefined = {line.split()[-1] for line in nm.splitlines() if line.strip()}
    assert undefined.isdisjoint(FORBIDDEN_UNDEFINED), sorted(undefined & set(FORBIDDEN_UNDEFINED))
    # Only app_main.cc reaches the board layer, and only through board.h's functions.
    board_refs = {s for s in undefined if "5board" in s}
    if source.name != "app_main.cc":
        assert board_refs == set()


def test_app_main_uses_the_board_interface_and_nothing_else(tmp_path):
    _need_arm()
    obj = tmp_path / "app_main.o"
    subprocess.run([ARM_CXX, *ARM_FLAGS, f"-I{CORE}", "-c", str(CORE / "app_main.cc"), "-o", str(obj)], check=True)
    nm = subprocess.run(["arm-none-eabi-nm", "-uC", str(obj)], capture_output=True, text=True, check=True).stdout
    undefined = {line.split(None, 1)[-1].strip() for line in nm.splitlines() if line.strip()}
    board = {s for s in undefined if s.startswith("vww::board::")}
    assert {s.split("(")[0] for s in board} <= {
        "vww::board::uart_read",
        "vww::board::uart_write",
        "vww::board::micros",
        "vww::board::instruction_count",
        "vww::board::camera_available",
        "vww::board::camera_capture",
        "vww::board::led",
        "vww::board::name",
        "vww::board::clock_hz",
        "vww::board::camera_model_id",
        "vww::board::camera_walking_ones",
        "vww::board::camera_frame_timing",
        "vww::board::camera_exposure",
        "vww::board::measured_clock_hz",
        "vww::board::stack_usage",
    }
    assert "vww::default_classifier()" in undefined  # provided by tflm_classifier.cc


@pytest.mark.parametrize("compiler", ["g++", ARM_CXX])
def test_board_h_declares_the_agreed_interface(compiler, tmp_path):
    if compiler == ARM_CXX:
        _need_arm()
    flags = ARM_FLAGS if compiler == ARM_CXX else ["-std=c++17"]
    proc = subprocess.run(
        [compiler, *flags, f"-I{CORE}", "-fsyntax-only", str(CPP_TESTS / "board_interface_check.cc")],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stderr


def test_tflm_is_confined_to_the_classifier():
    assert TFLM_SOURCES == {"tflm_classifier.cc"}
    for path in CORE.iterdir():
        if path.stem != "tflm_classifier":
            assert "tensorflow" not in path.read_text(), path.name
