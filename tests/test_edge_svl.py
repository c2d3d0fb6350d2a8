"""The emulated Edge's SVL side: the RX pad as a GPIO for the auto-baud, the ROM's flash helpers as the SVL calls
them, and one clear line for each image the chosen bootloader could not start. The end-to-end flash through the
real SVL build is test_edge_svl_flash.py."""

from __future__ import annotations

import json
import struct

import pytest

pytest.importorskip("unicorn", reason="unicorn (the emulated Edge's CPU core) is not installed")

from vwwdeploy.cli import main  # noqa: E402
from vwwdeploy.virtual_boards.edge import core, rom, svd  # noqa: E402
from vwwdeploy.virtual_boards.edge.rx_pin import BIT, GPIO_IRQ, RxPin, falling_edges, rising_edges  # noqa: E402

needs_svd = pytest.mark.skipif(not svd.svd_path().is_file(), reason="the AmbiqSuite SDK (apollo3.svd) is not cached")
SP = 0x10001000


def _bin(tmp_path, base: int, name: str = "app.bin", size: int = 0x200) -> object:
    image = bytearray(size)
    struct.pack_into("<II", image, 0, SP, base + 0x101)
    path = tmp_path / name
    path.write_bytes(bytes(image))
    return path


def _elf(tmp_path, vaddr: int) -> object:
    body = struct.pack("<II", SP, vaddr + 0x101) + bytes(0x200)
    ehdr = struct.pack(
        "<16sHHIIIIIHHHHHH", b"\x7fELF\x01\x01\x01" + bytes(9), 2, 40, 1, vaddr, 52, 0, 0, 52, 32, 1, 40, 0, 0
    )
    phdr = struct.pack("<IIIIIIII", 1, 84, vaddr, vaddr, len(body), len(body), 5, 4)
    path = tmp_path / f"app-{vaddr:x}.elf"
    path.write_bytes(ehdr + phdr + body)
    return path


def test_the_autobaud_character_has_five_rising_edges_two_bits_apart():
    # 'U' = 0x55, LSB first after the start bit: what the SVL's five GPIO timestamps rely on
    assert rising_edges(ord("U")) == [1, 3, 5, 7, 9]
    assert falling_edges(ord("U")) == [0, 2, 4, 6, 8]
    assert rising_edges(0xFF) == [1] and rising_edges(0x00) == [9]


@needs_svd
def test_host_bytes_raise_the_rx_pad_interrupt_at_the_line_rate(tmp_path):
    from vwwdeploy.virtual_boards.edge.peripherals import attach_all

    m = core.Machine(core.load_image(_bin(tmp_path, 0xC000)))
    attach_all(m)
    pin = RxPin(m, 115_200)
    gpio, uart = m.peripherals[0x40010000], m.peripherals[0x4001C000]
    gpio.set("CFGG", 0)  # pad 49: INCFG 0, INTD 0 = rising edge
    gpio.set("INT1EN", BIT)
    m.system.enabled |= 1 << GPIO_IRQ
    uart.host_rx.extend(b"U")
    assert not uart.rx_gate()  # reset value of PADREGM: the pad is a GPIO, not UART0RX
    uart.tick(m)
    assert list(uart.rx) == []
    first = pin.tick(m)
    times = list(pin.edges)
    gaps = [b - a for a, b in zip(times, times[1:])]
    assert len(times) == 5 and all(abs(g - 2 / 115_200) < 1e-9 for g in gaps)
    assert first == m.cycles + int(times[0] * m.clock_hz)
    assert not gpio.reg("INT1STAT") & BIT
    m.cycles = int(times[0] * m.clock_hz) + 1
    pin.tick(m)
    assert gpio.reg("INT1STAT") & BIT and m.system.pending >> GPIO_IRQ & 1
    assert len(pin.edges) == 4
    # muxed to UART0RX (FNSEL 0), the same bytes go to the FIFO instead
    gpio.set("PADREGM", gpio.reg("PADREGM") & ~(7 << 11))
    uart.host_rx.extend(b"BL")
    uart.tick(m)
    assert len(pin.edges) == 4
    # the SVL clears LCRH.FEN: a one-byte holding register, each byte a receive interrupt
    assert bytes(uart.rx) == b"B" and uart.read_MIS() == 0
    uart.write_IER(1 << 4)
    assert uart.read_MIS() & (1 << 4)
    assert (uart.read_DR(), bytes(uart.rx)) == (ord("B"), b"L")


def _rom_call(m, addr, *args):
    from unicorn import arm_const as A

    for i, v in enumerate(args):
        m.uc.reg_write(getattr(A, f"UC_ARM_REG_R{i}"), v)
    m.uc.reg_write(A.UC_ARM_REG_LR, 0xC101)
    rom.call(m, addr)
    return m.uc.reg_read(A.UC_ARM_REG_R0)


def test_rom_flash_helpers_need_the_key_and_only_clear_bits(tmp_path):
    m = core.Machine(core.load_image(_bin(tmp_path, 0xC000)))
    page = 0x10000
    src = 0x10002000
    m.uc.mem_write(src, bytes([0xF0, 0x0F, 0xAA, 0x55]) + bytes([0x0F, 0xFF, 0xFF, 0x00]))
    assert _rom_call(m, rom.FLASH_PAGE_ERASE, 0x1234, 0, page // rom.PAGE) != 0  # wrong key
    assert bytes(m.uc.mem_read(page, 4)) == bytes(4)  # untouched
    assert _rom_call(m, rom.FLASH_PAGE_ERASE, rom.PROGRAM_KEY, 0, page // rom.PAGE) == 0
    assert bytes(m.uc.mem_read(page, rom.PAGE)) == b"\xff" * rom.PAGE
    assert _rom_call(m, rom.FLASH_PROGRAM_MAIN, rom.PROGRAM_KEY, src, page, 1) == 0
    assert _rom_call(m, rom.FLASH_PROGRAM_MAIN, rom.PROGRAM_KEY, src + 4, page, 1) == 0  # no erase in between
    assert bytes(m.uc.mem_read(page, 4)) == bytes([0x00, 0x0F, 0xAA, 0x00])
    assert _rom_call(m, rom.FLASH_PROGRAM_MAIN, 0, src, page + 4, 1) != 0
    assert _rom_call(m, rom.FLASH_PAGE_ERASE, rom.PROGRAM_KEY, 2, 0) != 0  # the Apollo3 has two instances
    assert m.flash_writes == 3


def _one_line(argv, capsys, message):
    code = main(argv)
    err = capsys.readouterr().err
    assert code == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and message in lines[0] and "Traceback" not in err, err


@pytest.fixture
def svl_cache(tmp_path, monkeypatch):
    """An empty cache: no SVL build recorded unless a test puts one there."""
    monkeypatch.setenv("VWWDEPLOY_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"


def test_missing_svl_build_is_one_line(svl_cache, capsys):
    _one_line(["emulate", "--board", "edge", "--bootloader", "svl"], capsys, "no SVL bootloader build")
    (svl_cache / "build").mkdir(parents=True)
    (svl_cache / "build" / "svl.json").write_text(json.dumps({"elf": str(svl_cache / "gone.elf")}))
    _one_line(["emulate", "--board", "edge", "--bootloader", "svl"], capsys, "is gone")


def _fake_svl(svl_cache, tmp_path):
    (svl_cache / "build").mkdir(parents=True, exist_ok=True)
    elf = _elf(tmp_path, 0xC000)
    (svl_cache / "build" / "svl.json").write_text(json.dumps({"elf": str(elf)}))
    return elf


@needs_svd
def test_an_svl_build_without_app_start_is_refused(svl_cache, tmp_path, capsys):
    _fake_svl(svl_cache, tmp_path)
    _one_line(["emulate", "--board", "edge", "--bootloader", "svl"], capsys, "not the SVL bootloader build")


@needs_svd
@pytest.mark.parametrize(
    "bootloader, image, message",
    [
        ("asb", lambda t: _elf(t, 0x10000), "linked at 0x10000 for the SVL, but the secure bootloader starts"),
        ("svl", lambda t: _elf(t, 0xC000), "but the SVL starts applications at 0x10000"),
        ("svl", lambda t: _elf(t, 0x20000), "not an Edge image: linked at 0x20000"),
        ("asb", lambda t: _elf(t, 0x0), "not an Edge image: linked at 0x0"),
        ("svl", lambda t: _bin(t, 0x10000, "cut.bin", 40), "truncated image"),
        ("asb", lambda t: _bin(t, 0x10000, "svl-app.bin"), "no Apollo3 vector table at 0xC000"),
    ],
)
def test_images_the_chosen_bootloader_cannot_start(bootloader, image, message, svl_cache, tmp_path, capsys):
    _fake_svl(svl_cache, tmp_path)  # refused only after the application, which is what these name
    argv = ["emulate", "--board", "edge", "--bootloader", bootloader, "--firmware", str(image(tmp_path))]
    _one_line(argv, capsys, message)


def test_qemu_build_is_not_an_edge_image(capsys):
    from vwwdeploy.errors import UserError
    from vwwdeploy.firmware.qemu_build import latest_build

    try:
        elf = latest_build()
    except UserError as e:
        pytest.skip(f"no QEMU build to try: {e}")
    _one_line(["emulate", "--board", "edge", "--firmware", str(elf)], capsys, "not an Edge image")


def test_flash_file_needs_the_svl(tmp_path, capsys):
    _one_line(
        ["emulate", "--board", "edge", "--flash-file", str(tmp_path / "f.bin"), "--firmware", str(tmp_path / "x")],
        capsys,
        "--flash-file needs --bootloader svl",
    )
