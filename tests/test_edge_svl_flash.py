"""`vwwdeploy flash --protocol svl` through SparkFun's real SVL bootloader on the emulated Edge: the SVL build at
0xC000, the SVL-linked Edge image (env sparkfun_edge_svl) written frame by frame into the emulated flash, the SVL's
reboot and jump to 0x10000, and the application answering INFO and doctor; then the flash file brings the same
application up again without flashing. Needs unicorn, the cached SDK/BSPs/SVL sources, arm-none-eabi-gcc and a
`vwwdeploy firmware build --env sparkfun_edge_svl`; skips with the reason otherwise."""

from __future__ import annotations

import shutil
import time

import pytest

pytest.importorskip("unicorn", reason="unicorn (the emulated Edge's CPU core) is not installed")

from vwwdeploy.errors import DeviceError, UserError  # noqa: E402
from vwwdeploy.virtual_boards.edge import svd  # noqa: E402
from vwwdeploy.virtual_boards.edge.board import default_firmware  # noqa: E402

# Checks that need no camera model (the HM01B0 on the emulated bus is another piece of work); "model" is n/a
# without --model.
CAMERA_FREE = ("port", "application", "protocol", "firmware", "model", "link", "errors")


@pytest.fixture(scope="module")
def svl_elf():
    from vwwdeploy.firmware import deps, svl_build

    if not svd.svd_path().is_file():
        pytest.skip(f"the AmbiqSuite SDK is not in the firmware cache ({svd.svd_path()}): `vwwdeploy firmware deps`")
    if shutil.which("arm-none-eabi-gcc") is None:
        pytest.skip("arm-none-eabi-gcc not installed (needed to build the SVL)")
    try:
        found = deps.locate(names=("svl", "ambiqsdk", "ambiq_bsps"))
    except UserError as e:
        pytest.skip(f"SVL sources not cached: {e}")
    return svl_build.build_svl(found).elf


@pytest.fixture(scope="module")
def app_elf():
    elf = default_firmware("sparkfun_edge_svl")
    if not elf.is_file():
        pytest.skip(f"no SVL-linked Edge build at {elf}: `vwwdeploy firmware build --offline --env sparkfun_edge_svl`")
    return elf


def _hello_when_booted(url: str, timeout: float):
    from vwwdeploy.link.client import Device

    deadline = time.monotonic() + timeout
    while True:
        try:
            with Device(url, timeout=2.0, retries=1) as dev:
                return dev.hello()
        except DeviceError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)


@pytest.mark.slow
def test_flash_through_the_svl_then_boot_and_doctor(svl_elf, app_elf, tmp_path):
    from vwwdeploy.apps.doctor import diagnose
    from vwwdeploy.link.flashing.flasher import flash
    from vwwdeploy.virtual_boards.edge.svl_board import start_svl_edge

    flash_file = tmp_path / "edge-flash.bin"
    with start_svl_edge(svl=svl_elf, flash_file=flash_file) as emu:
        assert emu.phase == "parked" and emu.info is None  # erased flash: nothing for the SVL to start
        # A frame takes 1-9 s of wall time here (32 ms emulated): the host's per-reply timeout is the wall-clock
        # allowance for this machine, never the SVL's emulated timing.
        started = time.monotonic()
        result = flash(app_elf, port=emu.url, protocol="svl", timeout=60, progress=False, log=lambda s: None)
        print(f"\nflashed {result.size} B through the emulated SVL in {time.monotonic() - started:.0f} s wall")
        assert result.protocol == "svl" and result.load_address == 0x10000
        info = _hello_when_booted(emu.url, 120)
        assert emu.phase == "app" and emu.reboots >= 1
        assert info.board == "sparkfun_edge"
        # the flash holds the application's bytes where the SVL put them
        app = result.size
        from vwwdeploy.link.flashing import firmware

        image = firmware.load(app_elf).data
        assert len(image) == app and emu.flash_bytes()[0x10000 : 0x10000 + app] == image
        d = diagnose(emu.url)
        rows = {r.check: r for r in d.rows}
        print("doctor: " + ", ".join(f"{r.check} {r.status}" for r in d.rows))
        for name in CAMERA_FREE:
            if name in rows:
                assert rows[name].status != "fail", (name, rows[name])
        for name in ("port", "application", "protocol", "firmware", "link"):
            assert rows[name].status == "pass", (name, rows[name])
    assert flash_file.stat().st_size == 1 << 20
    # the flash file keeps the application: a restart boots it through the SVL with no flashing
    with start_svl_edge(svl=svl_elf, flash_file=flash_file) as emu:
        assert emu.phase == "app" and emu.info is not None and emu.info.board == "sparkfun_edge"
