"""The emulated Edge: bad input rejected with one line, and the real Edge image booting to its INFO frame."""

import struct
from pathlib import Path

import pytest

pytest.importorskip("unicorn", reason="unicorn (the emulated Edge's CPU core) is not installed")

from vwwdeploy.errors import UserError  # noqa: E402
from vwwdeploy.virtual_boards.edge import core  # noqa: E402


def test_truncated_bin_is_rejected(tmp_path):
    path = tmp_path / "cut.bin"
    path.write_bytes(struct.pack("<II", 0x10060000, 0xC101))
    with pytest.raises(UserError, match="truncated"):
        core.load_image(path)


def test_bin_without_vector_table_is_rejected(tmp_path):
    path = tmp_path / "junk.bin"
    path.write_bytes(b"\x00" * 1024)
    with pytest.raises(UserError, match="no Apollo3 vector table"):
        core.load_image(path)


EDGE_ELF = Path(__file__).resolve().parents[1] / ".pio" / "vwwdeploy" / "sparkfun_edge" / "firmware.elf"


@pytest.mark.slow
def test_edge_image_boots_to_info():
    if not EDGE_ELF.is_file():
        pytest.skip(f"no Edge build at {EDGE_ELF} (run `vwwdeploy firmware build --offline`)")
    if not core.__dict__ or not __import__("vwwdeploy.virtual_boards.edge.svd", fromlist=["x"]).svd_path().is_file():
        pytest.skip("the AmbiqSuite SDK (apollo3.svd) is not in the firmware cache")
    from vwwdeploy.virtual_boards.edge.peripherals import attach_all

    m = core.Machine(core.load_image(EDGE_ELF))
    attach_all(m)
    out = bytearray()
    m.peripherals[0x4001C000].tx_sink = out.extend
    m.reset()
    m.run(max_cycles=int(2e7), should_stop=lambda: b"sparkfun_edge" in out)
    assert out.startswith(b"VW")
    assert b"sparkfun_edge" in out
