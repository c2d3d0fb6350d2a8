"""Blob formats, checksums and firmware loading for `vwwdeploy flash`, without any serial port."""

from __future__ import annotations

import shutil
import struct
import subprocess

import pytest

from vwwdeploy.errors import UserError
from vwwdeploy.link.flashing import asb_image, firmware, svl_protocol
from vwwdeploy.link.flashing.crc import crc16_umts, crc32
from vwwdeploy.link.flashing.elf import elf_to_binary
from vwwdeploy.testing.fake_firmware import fake_binary, fake_elf
from vwwdeploy.testing.sim_asb import check_image_blob, check_wired_header
from vwwdeploy.testing.sim_svl import _crc16_bitwise as crc16_bitwise


def test_crc_catalogue_check_values():
    # The "check" values of the CRC catalogue for the ASCII string 123456789.
    assert crc32(b"123456789") == 0xCBF43926
    assert crc16_umts(b"123456789") == 0xFEE8


@pytest.mark.parametrize("data", [b"", b"\x00", b"U", bytes(range(256)), b"\xff" * 2051])
def test_crc16_table_matches_bitwise_and_checks_to_zero(data):
    crc = crc16_umts(data)
    assert crc == crc16_bitwise(data)
    assert crc16_umts(data + struct.pack(">H", crc)) == 0


def test_image_blob_fields():
    app = bytes(range(250)) * 4 + b"xyz"  # 1003 bytes: needs one pad byte
    blob = asb_image.build_image_blob(app)
    w0, crc, w2 = struct.unpack_from("<III", blob)
    assert w0 >> 24 == 0xCB and not (w0 >> 23) & 1 and w0 & 0x7FFFFF == len(blob) == 128 + 1004
    assert crc == crc32(blob[8:])
    assert w2 == 0x10008080  # install CRC on, no auth/encryption, default key indexes 8
    assert struct.unpack_from("<IIII", blob, 112) == (0xC000, 0, 0xFFFFFFFF, 0xFFFFFFFF)
    assert blob[16:112] == bytes(96)
    assert blob[128 : 128 + 1003] == app and blob[-1:] == b"\x01"  # upstream pads n bytes of value n
    assert check_image_blob(blob) == []


def test_wired_update_blocks_and_headers():
    blob = asb_image.build_image_blob(fake_binary(50_000))
    blocks = asb_image.build_wired_update(blob, split=0x4000)
    assert len(blocks) == 4
    assert b"".join(b.data[96:] for b in blocks) == blob
    for i, block in enumerate(blocks):
        (w0,) = struct.unpack_from("<I", block.data)
        assert w0 == 0x08000800
        assert block.data[80] == 6 and block.data[81] == (1 if i == 0 else 0)
        assert struct.unpack_from("<III", block.data, 84) == (0x12344321, 0x20000 + i * 0x4000, block.payload_size)
        assert check_wired_header(block.data, 0x4FFA0) == []


def test_split_must_be_whole_pages():
    with pytest.raises(ValueError):
        asb_image.build_wired_update(b"\0" * 256, split=0x1000)
    assert asb_image.split_for_storage(0x4FFA0) == 0x48000
    assert asb_image.split_for_storage(0x6000) == 0x4000
    assert asb_image.split_for_storage(0x1000) == 0


def _mutate(data: bytes, offset: int, value: int, width: int = 4) -> bytes:
    out = bytearray(data)
    out[offset : offset + width] = value.to_bytes(width, "little")
    return bytes(out)


def _recrc(blob: bytes) -> bytes:
    return _mutate(blob, 4, crc32(blob[8:]))


# Each row: (offset, bad value, width, words the simulated bootloader's complaint must contain).
IMAGE_FIELDS = [
    (3, 0xC0, 1, "magic"),
    (0, 0xCB000000 | 999, 4, "length"),
    (8, 0x10008081, 4, "algorithm"),
    (8, 0x30008080, 4, "security byte"),
    (8, 0x10008020, 4, "key indexes"),
    (12, 1, 4, "@12"),
    (40, 0xAB, 1, "signature"),
    (112, 0x10000, 4, "load address"),
    (112, 0xC001, 4, "protection"),
    (116, 0x8000, 4, "erase-previous"),
    (120, 0, 4, "child"),
    (124, 0x1234, 4, "child"),
]


@pytest.mark.parametrize("offset,value,width,complaint", IMAGE_FIELDS)
def test_simulated_asb_rejects_every_wrong_image_header_field(offset, value, width, complaint):
    blob = _recrc(_mutate(asb_image.build_image_blob(fake_binary(4000)), offset, value, width))
    problems = check_image_blob(blob)
    assert problems and any(complaint in p for p in problems), problems


def test_simulated_asb_rejects_a_stale_image_crc():
    blob = bytearray(asb_image.build_image_blob(fake_binary(4000)))
    blob[500] ^= 1
    assert any("CRC" in p for p in check_image_blob(bytes(blob)))


WIRED_FIELDS = [
    (0, 0x08000801, 4, "algorithm"),
    (0, 0x08000000, 4, "key indexes"),
    (4, 1, 4, "not zero"),
    (60, 0xFF, 1, "not zero"),
    (80, 3, 1, "image type"),
    (81, 0, 1, "options"),
    (82, 1, 1, "reserved"),
    (84, 0xD894E09E, 4, "flash key"),
    (88, 0x20100, 4, "load address"),
    (88, 0xFE000, 4, "load address"),
    (92, 12, 4, "size"),
]


@pytest.mark.parametrize("offset,value,width,complaint", WIRED_FIELDS)
def test_simulated_asb_rejects_every_wrong_wired_header_field(offset, value, width, complaint):
    block = asb_image.build_wired_update(asb_image.build_image_blob(fake_binary(4000)))[0]
    problems = check_wired_header(_mutate(block.data, offset, value, width), 0x4FFA0)
    assert problems and any(complaint in p for p in problems), problems


def test_later_blocks_must_not_carry_options():
    second = asb_image.build_wired_update(asb_image.build_image_blob(fake_binary(20_000)), split=0x2000)[1]
    assert check_wired_header(second.data, 0x4FFA0) == []
    assert any("later block" in p for p in check_wired_header(_mutate(second.data, 81, 1, 1), 0x4FFA0))


def test_svl_frames_are_whole_words_padded_with_erased_flash():
    frames = svl_protocol.frames(b"\x01" * 4099)
    assert [len(f) for f in frames] == [2048, 2048, 4]
    assert frames[-1] == b"\x01\x01\x01\xff"


def test_elf_is_flattened_like_objcopy(tmp_path):
    text, data = fake_binary(3001), b"initialised data"
    flat = elf_to_binary(fake_elf(text, data))
    assert flat.load_address == 0xC000 and flat.data == text + data  # .data placed at its load address


@pytest.mark.skipif(not shutil.which("arm-none-eabi-gcc"), reason="arm-none-eabi-gcc not installed")
def test_elf_flattening_matches_objcopy_on_a_real_linked_elf(tmp_path):
    (tmp_path / "app.c").write_text(
        "extern unsigned _estack; void reset(void);\n"
        '__attribute__((section(".vectors"))) const void *vectors[] = {&_estack, reset};\n'
        'int counter = 42; char message[] = "hello edge";\n'
        "void reset(void) { for (;;) counter += message[counter & 7]; }\n"
    )
    (tmp_path / "app.ld").write_text(
        "MEMORY { FLASH (rx) : ORIGIN = 0x10000, LENGTH = 960K\n RAM (rwx) : ORIGIN = 0x10000000, LENGTH = 384K }\n"
        "_estack = ORIGIN(RAM) + LENGTH(RAM);\nENTRY(reset)\n"
        "SECTIONS { .text : { KEEP(*(.vectors)) *(.text*) *(.rodata*) } > FLASH\n"
        " .data : { *(.data*) } > RAM AT > FLASH\n .bss : { *(.bss*) *(COMMON) } > RAM }\n"
    )
    elf, bin_ = tmp_path / "app.elf", tmp_path / "app.bin"
    subprocess.run(
        [
            "arm-none-eabi-gcc",
            "-mcpu=cortex-m4",
            "-mthumb",
            "-O1",
            "-nostdlib",
            "-nostartfiles",
            "-T",
            str(tmp_path / "app.ld"),
            str(tmp_path / "app.c"),
            "-o",
            str(elf),
        ],
        check=True,
    )
    subprocess.run(["arm-none-eabi-objcopy", "-O", "binary", str(elf), str(bin_)], check=True)
    flat = elf_to_binary(elf.read_bytes())
    assert flat.load_address == 0x10000
    assert flat.data == bin_.read_bytes()
    fw = firmware.load(elf)
    assert firmware.choose_protocol(fw, None) == "svl"


def test_protocol_follows_the_link_address(tmp_path):
    for base, expected in ((0xC000, "asb"), (0x10000, "svl")):
        path = tmp_path / f"fw_{base:x}.elf"
        path.write_bytes(fake_elf(fake_binary(5000, base), base=base))
        assert firmware.choose_protocol(firmware.load(path), None) == expected
    with pytest.raises(UserError, match="pass --protocol svl"):
        firmware.choose_protocol(firmware.load(tmp_path / "fw_10000.elf"), "asb")


def test_bin_protocol_from_its_reset_vector(tmp_path):
    # A small image at 0xC000 has its reset handler below 0x10000: only the ASB placement fits.
    (tmp_path / "a.bin").write_bytes(fake_binary(2000, 0xC000))
    assert firmware.choose_protocol(firmware.load(tmp_path / "a.bin"), None) == "asb"
    with pytest.raises(UserError, match="vector table points outside"):
        firmware.choose_protocol(firmware.load(tmp_path / "a.bin"), "svl")
    (tmp_path / "s.bin").write_bytes(fake_binary(2000, 0x10000))
    assert firmware.choose_protocol(firmware.load(tmp_path / "s.bin"), None) == "svl"
    # A big image linked at 0x10000 would also "fit" at 0xC000, but its handlers all lie above 0x10000: SVL.
    (tmp_path / "big.bin").write_bytes(fake_binary(100_000, 0x10000))
    fw = firmware.load(tmp_path / "big.bin")
    assert firmware.ambiguous(fw) and firmware.choose_protocol(fw, None) == "svl"
    assert firmware.choose_protocol(fw, "asb") == "asb"  # the user may know better (a .bin has no address)
    (tmp_path / "bigc.bin").write_bytes(fake_binary(100_000, 0xC000))
    assert firmware.choose_protocol(firmware.load(tmp_path / "bigc.bin"), None) == "asb"
