"""codegen: the generated sources compile for host and Cortex-M4, carry the model byte for byte,
and are deterministic."""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vwwdeploy.cli import main
from vwwdeploy.model import generate_sources, inspect_model
from vwwdeploy.model.codegen import c_float, model_data_sources
from vwwdeploy.model.ops import RESOLVER_METHODS
from vwwdeploy.testing.tiny_models import tiny_model

ARM_FLAGS = ["-mcpu=cortex-m4", "-mthumb", "-mfloat-abi=hard", "-mfpu=fpv4-sp-d16"]
WARN = ["-std=c++17", "-Wall", "-Wextra", "-Werror"]

# Includes both headers and uses every constant; on the host it is linked and run and prints them.
CHECK_CC = r"""
#include <stdint.h>
#include "model_data.h"
#include "model_settings.h"

namespace {
struct FakeResolver {
  int calls = 0;
%(methods)s
};
}  // namespace

struct Settings {
  unsigned int len; int aligned; const char* sha; unsigned long sum;
  int h, w, c; float in_scale; int in_zp; float out_scale; int out_zp;
  int classes; const char* labels[8]; int arena_measured, arena_size, op_count, add_calls;
};

Settings collect() {
  using namespace vwwdeploy_model;
  static_assert(kClassCount <= 8, "test buffer");
  static_assert(kArenaSize %% 16 == 0 && kArenaSize >= kArenaMeasured, "arena");
  FakeResolver resolver;
  VWWDEPLOY_ADD_OPS(resolver);
  Settings s{};
  s.len = kModelDataLen;
  s.aligned = (reinterpret_cast<uintptr_t>(kModelData) %% 16) == 0;
  s.sha = kModelSha256;
  for (unsigned int i = 0; i < kModelDataLen; ++i) s.sum += kModelData[i];
  s.h = kInputHeight; s.w = kInputWidth; s.c = kInputChannels;
  s.in_scale = kInputScale; s.in_zp = kInputZeroPoint; s.out_scale = kOutputScale; s.out_zp = kOutputZeroPoint;
  s.classes = kClassCount;
  for (int i = 0; i < kClassCount; ++i) s.labels[i] = kLabels[i];
  s.arena_measured = kArenaMeasured; s.arena_size = kArenaSize; s.op_count = kOpCount;
  s.add_calls = resolver.calls;
  return s;
}

#ifndef __arm__
#include <stdio.h>
int main() {
  Settings s = collect();
  printf("len=%%u aligned=%%d sha=%%s sum=%%lu\n", s.len, s.aligned, s.sha, s.sum);
  printf("input=%%dx%%dx%%d in_scale=%%.9g in_zp=%%d out_scale=%%.9g out_zp=%%d\n",
         s.h, s.w, s.c, s.in_scale, s.in_zp, s.out_scale, s.out_zp);
  printf("classes=%%d labels=", s.classes);
  for (int i = 0; i < s.classes; ++i) printf("%%s%%s", i ? "," : "", s.labels[i]);
  printf("\narena=%%d/%%d ops=%%d calls=%%d\n", s.arena_measured, s.arena_size, s.op_count, s.add_calls);
  return 0;
}
#endif
"""


def check_source() -> str:
    methods = "\n".join(f"  int {m}() {{ return ++calls; }}" for m in sorted(set(RESOLVER_METHODS.values())))
    return CHECK_CC % {"methods": methods}


def need(tool: str) -> str:
    path = shutil.which(tool)
    if not path:
        pytest.skip(f"{tool} is not installed (Debian package in scripts/test)")
    return path


def compile_and_run_host(src_dir, tmp_path) -> dict[str, str]:
    (src_dir / "check.cc").write_text(check_source())
    exe = tmp_path / "check"
    subprocess.run(
        [
            need("g++"),
            *WARN,
            "-I",
            str(src_dir),
            str(src_dir / "check.cc"),
            str(src_dir / "model_data.cc"),
            "-o",
            str(exe),
        ],
        check=True,
        capture_output=True,
    )
    out = subprocess.run([str(exe)], check=True, capture_output=True, text=True).stdout
    return dict(kv.split("=", 1) for kv in out.split())


def compile_arm(src_dir, tmp_path) -> None:
    (src_dir / "check.cc").write_text(check_source())
    gxx = need("arm-none-eabi-g++")
    for name in ("check.cc", "model_data.cc"):
        subprocess.run(
            [
                gxx,
                *ARM_FLAGS,
                *WARN,
                "-fdata-sections",
                "-I",
                str(src_dir),
                "-c",
                str(src_dir / name),
                "-o",
                str(tmp_path / f"{name}.arm.o"),
            ],
            check=True,
            capture_output=True,
        )
    # The array's own section must be 16-byte aligned in the Cortex-M4 object, too.
    headers = subprocess.run(
        [need("arm-none-eabi-objdump"), "-h", str(tmp_path / "model_data.cc.arm.o")],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    line = next(ln for ln in headers.splitlines() if "kModelDataE" in ln)
    assert line.split()[-1] == "2**4", line


def array_from_source(cc_text: str) -> bytes:
    body = re.search(r"kModelData\[\] = \{(.*?)\};", cc_text, re.S).group(1)
    return bytes(int(tok, 16) for tok in re.findall(r"0x[0-9a-f]{2}", body))


def test_upstream_model_sources(upstream_model, tmp_path):
    out = tmp_path / "gen"
    paths = generate_sources(upstream_model, out)
    assert sorted(p.name for p in paths) == ["model_data.cc", "model_data.h", "model_settings.h"]
    assert sorted(os.listdir(out)) == ["model_data.cc", "model_data.h", "model_settings.h"]
    data = upstream_model.read_bytes()
    assert array_from_source((out / "model_data.cc").read_text()) == data

    got = compile_and_run_host(out, tmp_path)
    report = inspect_model(upstream_model, run_litert=False)
    assert got["len"] == str(len(data)) and got["aligned"] == "1"
    assert got["sha"] == hashlib.sha256(data).hexdigest() and got["sum"] == str(sum(data))
    assert got["input"] == "96x96x1" and got["in_zp"] == "-1" and got["out_zp"] == "-128"
    assert float(got["in_scale"]) == pytest.approx(report["inputs"][0]["scale"], rel=1e-7)
    assert float(got["out_scale"]) == 0.00390625
    assert got["classes"] == "2" and got["labels"] == "notperson,person"
    assert got["arena"] == f"{report['arena']['measured_bytes']}/{report['arena']['size_bytes']}"
    assert got["ops"] == "5" and got["calls"] == "5"
    settings = (out / "model_settings.h").read_text()
    assert (
        "(resolver).AddAveragePool2D(); (resolver).AddConv2D(); (resolver).AddDepthwiseConv2D(); "
        "(resolver).AddReshape(); (resolver).AddSoftmax();" in settings
    )
    compile_arm(out, tmp_path)


def test_trained_model_with_labels_via_cli(tmp_path, capsys):
    model = tiny_model("int8")
    out = tmp_path / "fw" / "model"
    assert main(["codegen", str(model), "--out", str(out), "--labels", "empty,square", "--arena-margin", "2048"]) == 0
    got = compile_and_run_host(out, tmp_path)
    report = inspect_model(model, run_litert=False)
    assert got["labels"] == "empty,square" and got["input"] == "32x32x1"
    measured = report["arena"]["measured_bytes"]
    assert got["arena"] == f"{measured}/{-(-(measured + 2048) // 16) * 16}"
    assert got["ops"] == got["calls"] == "5"
    compile_arm(out, tmp_path)


def test_same_model_same_bytes(upstream_model, tmp_path):
    a = generate_sources(upstream_model, tmp_path / "a")
    b = generate_sources(upstream_model, tmp_path / "b")
    for pa, pb in zip(a, b):
        assert pa.read_bytes() == pb.read_bytes()


def test_existing_folder_keeps_other_files(tmp_path):
    out = tmp_path / "src"
    out.mkdir()
    (out / "main.cc").write_text("int main() { return 0; }\n")
    (out / "model_data.cc").write_text("stale\n")
    generate_sources(tiny_model("int8"), out)
    assert (out / "main.cc").read_text() == "int main() { return 0; }\n"
    assert (out / "model_data.cc").read_text() != "stale\n"
    assert not [p for p in os.listdir(tmp_path) if p.startswith(".")]  # no temporary leftovers


@pytest.mark.parametrize("size", [1, 1 << 20])
def test_one_byte_and_one_megabyte_blobs(size, tmp_path):
    blob = bytes([0xA5]) if size == 1 else hashlib.shake_256(b"vwwdeploy").digest(size)
    texts = model_data_sources(blob)
    assert array_from_source(texts["model_data.cc"]) == blob
    assert f'kModelSha256[] = "{hashlib.sha256(blob).hexdigest()}"' in texts["model_data.cc"]
    src = tmp_path / "src"
    src.mkdir()
    for name, text in texts.items():
        (src / name).write_text(text)
    obj = tmp_path / "host.o"
    subprocess.run(
        [need("g++"), *WARN, "-c", str(src / "model_data.cc"), "-o", str(obj)], check=True, capture_output=True
    )
    if size == 1:  # the 300 KB upstream array already goes through the Cortex-M4 compiler above; 1 MB adds time only
        subprocess.run(
            [
                need("arm-none-eabi-g++"),
                *ARM_FLAGS,
                *WARN,
                "-c",
                str(src / "model_data.cc"),
                "-o",
                str(tmp_path / "arm.o"),
            ],
            check=True,
            capture_output=True,
        )
    # The host object holds the blob verbatim.
    assert blob in obj.read_bytes()


def test_raw_blob_through_cli(tmp_path):
    blob = tmp_path / "one.bin"
    blob.write_bytes(b"\x07")
    out = tmp_path / "raw"
    assert main(["codegen", str(blob), "--raw", "--out", str(out)]) == 0
    assert sorted(os.listdir(out)) == ["model_data.cc", "model_data.h"]
    assert array_from_source((out / "model_data.cc").read_text()) == b"\x07"


def test_float_literals_read_back_exactly():
    import numpy as np

    for v in (2 / 255, 0.00390625, 1.0, 3e-9, 255.0, 0.1):
        f32 = float(np.float32(v))
        text = c_float(f32)
        assert text.endswith("f") and ("." in text or "e" in text)
        assert float(np.float32(float(text[:-1]))) == f32


@settings(max_examples=60, deadline=None)
@given(blob=st.binary(min_size=1, max_size=600))
def test_array_text_round_trips_any_blob(blob):
    text = model_data_sources(blob)["model_data.cc"]
    assert array_from_source(text) == blob
    assert f"kModelDataLen = {len(blob)}u;" in text
