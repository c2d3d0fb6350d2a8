"""Cross-checks against Ambiq's own host scripts (AmbiqSuite `tools/apollo3_scripts`), run from the local dependency
cache, never from the repo: our blobs must equal the ones they build, and their UART wired-update host must flash
through our simulated ASB. Skipped where the SDK has not been fetched (`vwwdeploy firmware deps`)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from vwwdeploy.link.flashing import asb_image
from vwwdeploy.paths import cache_dir
from vwwdeploy.testing.fake_firmware import fake_binary

SDK = Path(os.environ.get("VWWDEPLOY_AMBIQSDK_DIR") or cache_dir() / "src" / "ambiqsdk")
SCRIPTS = SDK / "tools" / "apollo3_scripts"

pytestmark = [
    pytest.mark.skipif(
        not (SCRIPTS / "create_cust_image_blob.py").exists(),
        reason=f"AmbiqSuite SDK scripts not found at {SCRIPTS} (vwwdeploy firmware deps)",
    ),
    pytest.mark.skipif(os.name == "nt", reason="the simulated board sits behind a POSIX pty"),
]

# The scripts import pycryptodome at the top but, with authentication and encryption off, never call it.
CRYPTO_STUBS = {
    "Crypto/__init__.py": "",
    "Crypto/Cipher/__init__.py": "from . import AES\n",
    "Crypto/Cipher/AES.py": "",
    "Crypto/PublicKey/__init__.py": "from . import RSA\n",
    "Crypto/PublicKey/RSA.py": "",
    "Crypto/Signature/__init__.py": "from . import PKCS1_v1_5\n",
    "Crypto/Signature/PKCS1_v1_5.py": "",
    "Crypto/Hash/__init__.py": "from . import SHA256\n",
    "Crypto/Hash/SHA256.py": "",
}


@pytest.fixture
def upstream(tmp_path):
    stubs = tmp_path / "stubs"
    for name, text in CRYPTO_STUBS.items():
        (stubs / name).parent.mkdir(parents=True, exist_ok=True)
        (stubs / name).write_text(text)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(stubs), str(SCRIPTS)])}

    def run(script: str, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
        done = subprocess.run(
            [sys.executable, str(SCRIPTS / script), *args],
            cwd=SCRIPTS,
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        assert done.returncode == 0, done.stdout + done.stderr
        return done

    return run


@pytest.mark.parametrize("size", [1, 4, 1001, 50_003])
def test_image_blob_equals_upstream(tmp_path, upstream, size):
    app = tmp_path / "app.bin"
    app.write_bytes(fake_binary(size) if size >= 8 else b"\x01" * size)
    out = tmp_path / "image"
    upstream(
        "create_cust_image_blob.py",
        "--bin",
        str(app),
        "--load-address",
        "0xC000",
        "--magic-num",
        "0xCB",
        "-o",
        str(out),
        "--version",
        "0x0",
        "-k",
        "keys_info0.py",
    )
    assert asb_image.build_image_blob(app.read_bytes()) == (tmp_path / "image.bin").read_bytes()


@pytest.mark.parametrize("split", [0x48000, 0x4000])
def test_wired_update_blob_equals_upstream(tmp_path, upstream, split):
    blob = asb_image.build_image_blob(fake_binary(40_001))
    (tmp_path / "image.bin").write_bytes(blob)
    upstream(
        "create_cust_wireupdate_blob.py",
        "--load-address",
        "0x20000",
        "--bin",
        str(tmp_path / "image.bin"),
        "-i",
        "6",
        "-o",
        str(tmp_path / "wire"),
        "--options",
        "0x1",
        "--split",
        hex(split),
        "-k",
        "keys_info0.py",
    )
    ours = b"".join(block.data for block in asb_image.build_wired_update(blob, split=split))
    assert ours == (tmp_path / "wire.bin").read_bytes()


def test_upstream_uart_host_flashes_through_the_simulated_asb(tmp_path, upstream):
    from vwwdeploy.testing.sim_asb import SimAsb

    app = fake_binary(30_000)
    blocks = asb_image.build_wired_update(asb_image.build_image_blob(app))
    (tmp_path / "wire.bin").write_bytes(b"".join(b.data for b in blocks))
    with SimAsb(bauds=(115200,)) as sim:
        done = upstream(
            "uart_wired_update.py", "-b", "115200", sim.port, "-r", "1", "-f", str(tmp_path / "wire.bin"), "-i", "6"
        )
        assert sim.finished.wait(10), done.stdout
    assert sim.errors == [] and sim.nacks == []
    assert sim.installed[: len(app)] == app


# `vwwdeploy firmware deps` clones the same repository as dependency `svl` (the SVL bootloader's source).
SVL_HOST = next(
    (
        d / "svl.py"
        for d in (
            Path(os.environ.get("VWWDEPLOY_APOLLO3_UPLOADER_SVL_DIR") or cache_dir() / "src" / "apollo3_uploader_svl"),
            Path(os.environ.get("VWWDEPLOY_SVL_DIR") or cache_dir() / "src" / "svl"),
        )
        if (d / "svl.py").exists()
    ),
    cache_dir() / "src" / "svl" / "svl.py",
)


@pytest.mark.skipif(not SVL_HOST.exists(), reason=f"SparkFun's svl.py not found at {SVL_HOST}")
def test_upstream_svl_host_flashes_through_the_simulated_svl(tmp_path):
    from vwwdeploy.testing.sim_svl import SimSvl

    app = fake_binary(30_000, 0x10000)  # whole words: svl.py does not pad, and the SVL refuses partial words
    (tmp_path / "app.bin").write_bytes(app)
    with SimSvl() as sim:
        done = subprocess.run(
            [sys.executable, str(SVL_HOST), sim.port, "-b", "921600", "-f", str(tmp_path / "app.bin"), "-t", "2"],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert sim.finished.wait(10), done.stdout + done.stderr
    assert "Upload complete" in done.stdout
    assert sim.errors == [] and sim.installed == app
