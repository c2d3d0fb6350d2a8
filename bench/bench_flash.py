"""Flashing benchmarks (issue 7), measured side by side in one run on this machine.

1. ELF -> .bin: the pure-Python flattening `vwwdeploy flash` uses against `arm-none-eabi-objcopy -O binary`
   (a subprocess, as a user without our converter would run it), on a 450 KB two-section ELF. The point is that
   dropping the toolchain dependency costs nothing noticeable.
2. A whole simulated flash of a 450 KB firmware over a pty, ASB against SVL: host + simulated device CPU time per
   transfer (the pty moves bytes at memory speed, so this is protocol/CPU overhead, not UART time), and the bytes
   each protocol puts on the wire per firmware byte, from which the UART time at 921600 and 115200 baud follows
   (10 bits per byte, 8N1).

Usage: python3 bench/bench_flash.py [--repeat 3] [--markdown]
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from vwwdeploy.link.flashing import asb_image, flash, svl_protocol  # noqa: E402
from vwwdeploy.link.flashing.asb_protocol import MAX_CHUNK  # noqa: E402
from vwwdeploy.link.flashing.elf import elf_to_binary  # noqa: E402
from vwwdeploy.testing.fake_firmware import fake_binary, fake_elf  # noqa: E402
from vwwdeploy.testing.sim_asb import SimAsb  # noqa: E402
from vwwdeploy.testing.sim_svl import SimSvl  # noqa: E402

SIZE = 450_000


def best(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def wire_bytes_asb(app_len: int) -> int:
    blocks = asb_image.build_wired_update(asb_image.build_image_blob(bytes(app_len)))
    total = 8 + 12 + 20  # HELLO, OTADESC, RESET
    for block in blocks:
        total += 20 + len(block.data) + 12 * -(-len(block.data) // MAX_CHUNK)  # UPDATE + DATA headers
    return total


def wire_bytes_svl(app_len: int) -> int:
    frames = svl_protocol.frames(bytes(app_len))
    return 1 + 5 + sum(len(f) + 5 for f in frames) + 5  # 'U', BL, FRAMEs, DONE


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--markdown", action="store_true")
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        text = fake_binary(SIZE - 4096, 0xC000)
        elf = tmp / "fw.elf"
        elf.write_bytes(fake_elf(text, bytes(range(256)) * 16))
        py = best(lambda: elf_to_binary(elf.read_bytes()), args.repeat)
        objcopy = shutil.which("arm-none-eabi-objcopy")
        if objcopy:
            oc = best(
                lambda: subprocess.run([objcopy, "-O", "binary", str(elf), str(tmp / "oc.bin")], check=True),
                args.repeat,
            )
            assert (tmp / "oc.bin").read_bytes() == elf_to_binary(elf.read_bytes()).data
            rows.append(
                (
                    "ELF -> bin, pure Python vs objcopy subprocess",
                    f"{py * 1e3:.1f} ms",
                    f"{oc * 1e3:.1f} ms",
                    f"{oc / py:.2f}x",
                )
            )
        (tmp / "a.bin").write_bytes(fake_binary(SIZE, 0xC000))
        (tmp / "s.bin").write_bytes(fake_binary(SIZE, 0x10000))
        quiet = dict(wait=2.0, timeout=10.0, settle=0.0, progress=False, log=lambda m: None)

        def asb():
            with SimAsb() as sim:
                flash(tmp / "a.bin", port=sim.port, protocol="asb", **quiet)
                assert sim.finished.wait(10) and not sim.errors

        def svl():
            with SimSvl() as sim:
                flash(tmp / "s.bin", port=sim.port, protocol="svl", **quiet)
                assert sim.finished.wait(10) and not sim.errors

        t_asb, t_svl = best(asb, args.repeat), best(svl, args.repeat)
        rows.append(
            (
                "simulated 450 KB flash over a pty, ASB vs SVL",
                f"{t_asb * 1e3:.0f} ms",
                f"{t_svl * 1e3:.0f} ms",
                f"{t_svl / t_asb:.2f}x",
            )
        )
    wa, ws = wire_bytes_asb(SIZE), wire_bytes_svl(SIZE)
    rows.append(("wire bytes per firmware byte, ASB vs SVL", f"{wa / SIZE:.4f}", f"{ws / SIZE:.4f}", f"{ws / wa:.3f}x"))
    for baud in (921600, 115200):
        rows.append(
            (
                f"UART time for 450 KB at {baud} baud, ASB vs SVL",
                f"{wa * 10 / baud:.1f} s",
                f"{ws * 10 / baud:.1f} s",
                f"{ws / wa:.3f}x",
            )
        )
    if args.markdown:
        print("| measurement | first | second | second / first |\n|---|---|---|---|")
        for row in rows:
            print("| " + " | ".join(row) + " |")
    else:
        for row in rows:
            print(f"{row[0]:<52} {row[1]:>10} {row[2]:>10} {row[3]:>8}")


if __name__ == "__main__":
    main()
