"""TflmClassifier with the real TFLM: needs a generated TFLM tree (`vwwdeploy.firmware.tflm_tree.ensure_tree`,
which fetches nothing itself in tests: they skip when the tree is absent) and the shared upstream model.

- host (x86-64, g++): the core classifier + TFLM reference kernels + `vwwdeploy codegen` output of the
  upstream person detector gives the upstream scores for the two upstream test images, both called
  directly and through the command loop (INFER -> RESULT);
- Cortex-M4F: tflm_classifier.cc cross-compiles against the tree of each kernel flavour.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys

import numpy as np
import pytest
from conftest import UPSTREAM_EXPECTED_SCORES
from firmware_core_build import (
    ARM_CXX,
    ARM_FLAGS,
    CORE,
    CPP_TESTS,
    HOST_CORE_SOURCES,
    REPO,
    cache_key,
    cached,
    compile_objects,
    compiler_id,
    link_with_tflm,
    tflm_includes,
)
from PIL import Image


def _tree(flavour: str):
    from vwwdeploy.firmware import tflm_tree

    path = tflm_tree.tree_dir(flavour)
    if not (path / tflm_tree.COMPLETE).is_file():
        pytest.skip(
            f"no TFLM tree for {flavour} kernels at {path} (create it with "
            f"`python -m vwwdeploy.firmware.tflm_tree {flavour}`; needs the upstream sources)"
        )
    return path, json.loads((path / "tflm_flags.json").read_text())


@pytest.fixture(scope="module")
def generated_model(upstream_model, tmp_path_factory):
    out = tmp_path_factory.mktemp("generated")
    proc = subprocess.run(
        [sys.executable, "-m", "vwwdeploy.cli", "codegen", str(upstream_model), "--out", str(out)],
        capture_output=True,
        text=True,
        cwd=REPO,
    )
    assert proc.returncode == 0, proc.stderr
    return out


@pytest.mark.slow  # the first run compiles the TFLM it needs for the host (cached afterwards)
def test_host_classifier_gives_upstream_scores(generated_model, upstream_test_images, tmp_path):
    if shutil.which("g++") is None:
        pytest.skip("g++ not installed")
    tree, flags_json = _tree("reference")
    flags = [
        "-std=c++17",
        "-O1",
        "-g",
        "-fno-exceptions",
        "-fno-rtti",
        "-DVWW_KERNELS_REFERENCE",
        "-DTF_LITE_STATIC_MEMORY",
        f"-I{CORE}",
        f"-I{CPP_TESTS}",
        f"-I{generated_model}",
        *tflm_includes(tree, flags_json),
    ]
    sources = [
        *HOST_CORE_SOURCES,
        CORE / "tflm_classifier.cc",
        generated_model / "model_data.cc",
        CPP_TESTS / "tflm_classifier_main.cc",
    ]
    headers = [*CORE.glob("*.h"), *CPP_TESTS.glob("*.h"), *generated_model.glob("*.h")]

    def build(out):
        objs = compile_objects("g++", flags, sources, out / "obj")
        exe = out / "tflm_classifier_test"
        link_with_tflm(tree, flags_json, objs, exe)
        return exe

    # Cached by content: the generated sources are deterministic, so a rerun reuses the binary.
    key = cache_key(
        compiler_id("g++"), [f for f in flags if str(generated_model) not in f], str(tree), files=[*sources, *headers]
    )
    exe = cached("tflm_classifier_test", key, build)

    inputs = []
    for name in ("person", "no_person"):
        pixels = np.asarray(Image.open(upstream_test_images[name]).convert("L"), dtype=np.uint8)
        assert pixels.shape == (96, 96)
        path = tmp_path / f"{name}.bin"
        path.write_bytes((pixels.astype(np.int16) - 128).astype(np.int8).tobytes())
        inputs.append(path)
    proc = subprocess.run([str(exe), *map(str, inputs)], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    lines = proc.stdout.splitlines()
    direct = [list(map(int, l.split()[1:])) for l in lines if l.startswith("direct")]
    loop = [list(map(int, l.split()[1:])) for l in lines if l.startswith("loop")]
    expected = [UPSTREAM_EXPECTED_SCORES["person"], UPSTREAM_EXPECTED_SCORES["no_person"]]
    assert direct == expected
    assert loop == expected
    arena = next(l.split() for l in lines if l.startswith("arena_used"))
    used, size, kernels = int(arena[1]), int(arena[3]), int(arena[5])
    assert 0 < used <= size
    assert kernels == 1  # reference
    # SELFTEST model_output: the C++ build's output for codegen's built-in input equals the twin's, bit for bit.
    assert "VWWDEPLOY_HAS_SELFTEST_VECTOR" in (generated_model / "model_settings.h").read_text()
    assert "selftest_model_output status 0 measured 0" in lines


@pytest.mark.parametrize(
    "flavour,define", [("reference", "VWW_KERNELS_REFERENCE"), ("cmsis-nn", "VWW_KERNELS_CMSIS_NN")]
)
def test_classifier_cross_compiles_for_cortex_m4f(flavour, define, generated_model, tmp_path):
    if shutil.which(ARM_CXX) is None:
        pytest.skip(f"{ARM_CXX} not installed")
    tree, flags_json = _tree(flavour)
    defines = [f"-D{d}" for d in flags_json["defines"]]
    flags = [
        *ARM_FLAGS,
        "-Wall",
        "-Wextra",
        "-Werror",
        f"-D{define}",
        *defines,
        f"-I{CORE}",
        *tflm_includes(tree, flags_json),
    ]
    source = CORE / "tflm_classifier.cc"

    def build(out):
        obj = out / "tflm_classifier.o"
        proc = subprocess.run(
            [ARM_CXX, *flags, f"-I{generated_model}", "-c", str(source), "-o", str(obj)], capture_output=True, text=True
        )
        assert proc.returncode == 0, proc.stderr
        return obj

    headers = [*CORE.glob("*.h"), *generated_model.glob("*.h")]
    obj = cached(
        "tflm_classifier.o", cache_key(compiler_id(ARM_CXX), flags, str(tree), files=[source, *headers]), build
    )
    size = subprocess.run(["arm-none-eabi-size", "-A", str(obj)], capture_output=True, text=True, check=True).stdout
    # The arena is static (.bss), sized from the generated settings.
    settings = (generated_model / "model_settings.h").read_text()

    arena = int(re.search(r"kArenaSize = (\d+);", settings).group(1))
    bss = sum(int(l.split()[1]) for l in size.splitlines() if l.startswith(".bss"))
    assert bss >= arena
