"""`vwwdeploy.link.flashing.flash` against the simulated ASB and SVL bootloaders on a pty."""

from __future__ import annotations

import os

import pytest
import serial

from vwwdeploy.errors import DeviceError, UserError
from vwwdeploy.link.flashing import asb_image, flash
from vwwdeploy.link.flashing.flasher import NO_BOOTLOADER
from vwwdeploy.testing.fake_firmware import fake_binary, fake_elf
from vwwdeploy.testing.sim_asb import CRC_ERROR, DATA, FAILURE, HELLO, OTADESC, RESET, UPDATE, SimAsb
from vwwdeploy.testing.sim_pty import PtyDevice
from vwwdeploy.testing.sim_svl import SimSvl

pytestmark = pytest.mark.skipif(os.name == "nt", reason="the simulated boards sit behind POSIX ptys")

# The simulators answer at once, so these limits are only used up where a test wants no answer (those pass shorter
# ones); they stay generous elsewhere because this machine is shared and threads can be slow to get scheduled.
FAST = dict(wait=2.0, timeout=5.0, settle=0.0, progress=False)


@pytest.fixture
def firmware(tmp_path):
    def make(size: int, base: int = 0xC000, seed: int = 1, elf: bool = False):
        data = fake_binary(size, base, seed)
        path = tmp_path / ("fw.elf" if elf else "fw.bin")
        path.write_bytes(fake_elf(data, base=base) if elf else data)
        return path, data

    return make


def run(path, sim, **kwargs):
    log: list[str] = []
    result = flash(path, port=sim.port, log=log.append, **{**FAST, **kwargs})
    return result, log


def assert_installed(sim, data: bytes, address: int):
    assert sim.finished.wait(10), "the simulated board never booted the image"
    assert sim.crashed is None and sim.errors == []
    assert sim.installed[: len(data)] == data
    assert sim.flash[address : address + len(data)] == data


def test_asb_full_flash(firmware):
    path, data = firmware(100_001)
    with SimAsb(bauds=(921600,)) as sim:
        result, log = run(path, sim)
        assert_installed(sim, data, 0xC000)
    assert (result.protocol, result.baud, result.attempts, result.resends) == ("asb", 921600, 1, 0)
    assert sim.received[HELLO] == sim.received[OTADESC] == sim.received[UPDATE] == sim.received[RESET] == 1
    assert sim.received[DATA] == -(-(100_004 + 128 + 96) // 8180)
    assert "Hold button 14" in log[0]


def test_asb_full_flash_from_an_elf(firmware):
    path, data = firmware(30_000, elf=True)
    with SimAsb() as sim:
        result, _ = run(path, sim)
        assert_installed(sim, data, 0xC000)
    assert result.protocol == "asb"


def test_asb_small_storage_splits_blocks_and_sends_the_last_first(firmware):
    path, data = firmware(40_000)
    with SimAsb(max_storage=0x6000) as sim:
        run(path, sim)
        assert_installed(sim, data, 0xC000)
    assert sim.staged_order == [0x28000, 0x24000, 0x20000]


def test_svl_full_flash(firmware):
    path, data = firmware(30_001, base=0x10000)
    with SimSvl() as sim:
        result, log = run(path, sim)  # protocol chosen from the .bin's vector table
        assert_installed(sim, data, 0x10000)
    assert (result.protocol, result.baud, result.attempts) == ("svl", 921600, 1)
    assert any("taken as an SVL image" in line for line in log)
    assert sim.installed[len(data) :] == b"\xff" * 3  # last frame padded to whole words


@pytest.mark.parametrize("kind", ["asb", "svl"])
def test_nack_then_success(firmware, kind):
    if kind == "asb":
        path, data = firmware(20_000)
        sim, address = SimAsb(nack_data={2}), 0xC000
    else:
        path, data = firmware(20_000, base=0x10000)
        sim, address = SimSvl(retry_frames={2}), 0x10000
    with sim:
        result, log = run(path, sim)
        assert_installed(sim, data, address)
    assert result.resends == 1 and result.attempts == 1
    if kind == "asb":
        assert sim.nacks == [(DATA, FAILURE)]
        assert any("NACK (failure) to DATA; re-sending" in line for line in log)
    else:
        assert sim.retries_sent == 1


@pytest.mark.parametrize("kind", ["asb", "svl"])
def test_corrupted_chunk_is_detected_and_resent(firmware, kind):
    if kind == "asb":
        path, data = firmware(30_000)
        sim, address = SimAsb(corrupt_data={3}), 0xC000
    else:
        path, data = firmware(30_000, base=0x10000)
        sim, address = SimSvl(corrupt_frames={3}), 0x10000
    with sim:
        result, _ = run(path, sim)
        assert_installed(sim, data, address)
    assert result.resends == 1
    if kind == "asb":
        assert sim.nacks == [(DATA, CRC_ERROR)]
    else:
        assert sim.retries_sent == 1


@pytest.mark.parametrize("kind", ["asb", "svl"])
def test_interrupted_transfer_then_retry_succeeds(firmware, kind):
    if kind == "asb":
        path, data = firmware(40_000)
        sim, address = SimAsb(reset_after_data=3), 0xC000
    else:
        path, data = firmware(20_000, base=0x10000)
        sim, address = SimSvl(reset_after_frame=4), 0x10000
    with sim:
        result, log = run(path, sim, timeout=1.5)
        assert_installed(sim, data, address)
    # 2 on an idle machine; a loaded one may also time out a slow answer and need the third attempt
    assert result.attempts >= 2 and sim.resets_injected == 1
    assert any("transfer interrupted" in line and "attempt 2 of 3" in line for line in log)
    if kind == "asb":
        assert sim.received[HELLO] == result.attempts
    else:
        assert sim.handshakes == result.attempts


def test_asb_gives_up_after_the_attempts(firmware):
    path, _ = firmware(20_000)
    with SimAsb(reset_after_data=1) as sim:
        with pytest.raises(DeviceError, match="flashing failed after 1 attempt: no answer to DATA"):
            run(path, sim, timeout=0.5, attempts=1)
    assert not sim.booted


def test_a_port_that_dies_mid_transfer_gives_one_line(firmware, monkeypatch):
    path, _ = firmware(20_000)
    from vwwdeploy.link.flashing import asb_protocol

    def unplugged(self, block, on_bytes=None):
        raise serial.SerialException("device reports readiness to read but returned no data")

    monkeypatch.setattr(asb_protocol.AsbSession, "send_block", unplugged)
    with SimAsb() as sim:
        with pytest.raises(DeviceError, match=r"^lost serial port .* during flashing \(device reports") as caught:
            run(path, sim)
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize("kind", ["asb", "svl", "nothing"])
def test_no_bootloader_gives_one_clear_line(firmware, kind):
    path, _ = firmware(10_000, base=0x10000 if kind == "svl" else 0xC000)
    device = {"asb": lambda: SimAsb(answer=False), "svl": lambda: SimSvl(answer=False), "nothing": lambda: PtyDevice()}[
        kind
    ]()
    device.run = device.run if kind != "nothing" else (lambda: device.read_exact(1 << 30))
    with device:
        with pytest.raises(DeviceError) as caught:
            run(path, device, wait=0.2)
    message = str(caught.value)
    assert message.startswith(NO_BOOTLOADER) and "\n" not in message
    if kind != "svl":
        assert message.startswith("no bootloader answered: hold button 14 and tap RST")
    assert "921600 and 115200" in message


@pytest.mark.parametrize("kind", ["asb", "svl"])
def test_other_baud_is_tried_and_said(firmware, kind):
    if kind == "asb":
        path, data = firmware(20_000)
        sim, address = SimAsb(bauds=(115200,)), 0xC000
    else:
        path, data = firmware(20_000, base=0x10000)
        sim, address = SimSvl(bauds=(115200,)), 0x10000
    with sim:
        result, log = run(path, sim)
        assert_installed(sim, data, address)
    assert result.baud == 115200 and sim.dropped_bytes > 0
    assert "no answer at 921600 baud; trying 115200" in " ".join(log)
    assert "pass --baud 115200 next time" in " ".join(log)


def test_requested_baud_is_tried_first_then_the_other(firmware):
    path, data = firmware(20_000)
    with SimAsb(bauds=(921600,)) as sim:
        result, log = run(path, sim, baud=115200)
        assert_installed(sim, data, 0xC000)
    assert result.baud == 921600
    assert "no answer at 115200 baud; trying 921600" in " ".join(log)


@pytest.mark.parametrize(
    "protocol,size,base,limit", [("asb", 950_000, 0xC000, "909,184"), ("svl", 1_000_000, 0x10000, "983,040")]
)
def test_image_too_big_for_flash(firmware, protocol, size, base, limit):
    path, _ = firmware(size, base=base)
    # The size is checked before any port is opened: this port does not even exist.
    with pytest.raises(UserError, match=f"only {limit} fit the Edge's flash with the {protocol.upper()}"):
        flash(path, port="/dev/does-not-exist", protocol=protocol, **FAST)


@pytest.mark.parametrize(
    "field,value,complaint",
    [
        ("FLASH_KEY", 0xD894E09E, "@84: key"),
        ("MAGIC_NONSECURE", 0xC0, "magic"),
        ("IMAGE_LOAD_ADDRESS", 0x10000, "@112: load address"),
    ],
)
def test_a_wrong_header_is_refused_by_the_simulated_bootloader(firmware, monkeypatch, field, value, complaint):
    path, _ = firmware(20_000)
    monkeypatch.setattr(asb_image, field, value)
    with SimAsb() as sim:
        with pytest.raises(DeviceError, match="refused DATA: invalid parameter"):
            run(path, sim)
    assert any(complaint in e for e in sim.errors), sim.errors
    assert not sim.booted
