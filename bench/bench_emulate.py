"""Instructions per inference of the QEMU firmware (issue 6), every build measured side by side in one run.

Each firmware runs under `qemu-system-arm -M mps2-an386 -icount shift=0` (1 virtual ns per executed
instruction; the firmware reports the count in RESULT). Rows: model x kernels x build profile
(vwwdeploy/firmware/qemu_build.py PROFILES: "plain" = what the Edge build does, TFLM's own -Os/-O2;
"o3-lto", "o2-lto" = the same sources with other optimisation choices). For each row: instructions per
inference (median over the images;
the count barely depends on the input), the ratio to the plain CMSIS-NN build of the same model
measured in this run, the ratio to the issue's baseline (22.93 M, a throwaway plain build), and whether
the scores are bit-exact with the plain build of the same kernels (the two upstream test images plus
COCO images); reference-kernel rows are also compared with the TFLM host twin.

Usage: python3 bench/bench_emulate.py [--exported M.tflite] [--coco N] [--profiles plain,o3-lto,o2-lto]
                                      [--reference-profiles plain,o3-lto] [--markdown]
"""

from __future__ import annotations

import argparse
import csv
import statistics
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from vwwdeploy.firmware.qemu_build import PROFILES, build_qemu_firmware  # noqa: E402
from vwwdeploy.link.client import Device  # noqa: E402
from vwwdeploy.paths import cache_dir  # noqa: E402
from vwwdeploy.virtual_boards.qemu import start_emulator  # noqa: E402

SHARED = REPO.parent / "shared" / "data"
UPSTREAM = SHARED / "tflm_person_detection" / "person_detect.tflite"
ISSUE_BASELINE = 22.93e6  # issue 6: plain build, CMSIS-NN, upstream model
EDGE_HZ = 96e6  # the SparkFun Edge's Apollo3 in burst mode


def inputs(coco: int) -> list[np.ndarray]:
    """The two upstream test images, then the first `coco` shared COCO images through the eval preprocessing."""
    derived = SHARED / "tflm_person_detection" / "derived"
    xs = [
        np.asarray(Image.open(derived / n).convert("L"), dtype=np.int16) - 128
        for n in ("person_uint8.png", "no_person_uint8.png")
    ]
    if coco:
        from vwwdeploy.link.protocol.pipeline import frame_from_image

        with open(SHARED / "coco128_train2017" / "person_presence.csv", newline="") as fh:
            stems = [r["stem"] for r in csv.DictReader(fh)][:coco]
        for stem in stems:
            img = Image.open(SHARED / "coco128_train2017" / "images" / f"{stem}.jpg")
            raw = frame_from_image(img)  # what the sim camera would see; any fixed 96x96 input will do
            from vwwdeploy.link.protocol.pipeline import crop_decimate

            xs.append(crop_decimate(raw).astype(np.int16) - 128)
    return [x.astype(np.int8).reshape(96, 96, 1) for x in xs]


def elf_sizes(elf: Path) -> tuple[int, int]:
    """(flash = text + data, static RAM = data + bss) of a firmware ELF, from arm-none-eabi-size."""
    import subprocess

    out = subprocess.run(["arm-none-eabi-size", str(elf)], capture_output=True, text=True, check=True).stdout
    text, data, bss = (int(v) for v in out.splitlines()[1].split()[:3])
    return text + data, data + bss


def for_model(model: Path, xs: list[np.ndarray]) -> list[np.ndarray]:
    """The gray inputs, repeated over the channels of a colour model's input."""
    from vwwdeploy.model.kernels.layers import read_layers

    channels = read_layers(model)[0].inputs[0].shape[3]
    return [np.repeat(x, channels, axis=2) for x in xs]


def measure(elf: Path, xs: list[np.ndarray]) -> tuple[list[int], np.ndarray, float]:
    t0 = time.perf_counter()
    with start_emulator(firmware=elf, icount=True) as emu, Device(emu.url, timeout=120) as dev:
        results = [dev.infer(x) for x in xs]
    wall = time.perf_counter() - t0
    return [r.instructions for r in results], np.stack([r.scores for r in results]), wall


def twin_scores(model: Path, xs: list[np.ndarray]) -> np.ndarray:
    from vwwdeploy.model.tflm_twin import TflmTwin

    with TflmTwin(model) as twin:
        return np.stack([np.asarray(twin.invoke(x[None])).reshape(-1) for x in xs]).astype(np.int8)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default_exported = cache_dir() / "bench" / "exported-quickstart.tflite"
    ap.add_argument(
        "--exported",
        type=lambda s: Path(s) if s else None,
        default=default_exported if default_exported.is_file() else None,
        help="a model exported by `vwwdeploy export` (default: %(default)s)",
    )
    default_mlperf = cache_dir() / "mlperf" / "vww_96_int8.tflite"
    ap.add_argument(
        "--mlperf",
        type=lambda s: Path(s) if s else None,
        default=default_mlperf if default_mlperf.is_file() else None,
        help="the MLPerf Tiny VWW model (96x96x3; the gray inputs are repeated over 3 channels) (default: %(default)s)",
    )
    ap.add_argument("--coco", type=int, default=6, help="COCO images per firmware besides the two upstream ones")
    ap.add_argument("--profiles", default="plain,o3-lto,o2-lto", help="build profiles of the CMSIS-NN rows")
    ap.add_argument("--reference-profiles", default="plain,o3-lto", help="build profiles of the reference-kernel rows")
    ap.add_argument(
        "--generated-profiles", default="plain", help="build profiles of the model-specialised kernel rows ('' = none)"
    )
    ap.add_argument("--markdown", action="store_true")
    args = ap.parse_args()
    models = [("upstream person_detect", UPSTREAM)]
    if args.exported is not None:
        models.append((f"exported ({args.exported.name})", args.exported))
    if args.mlperf is not None:
        models.append((f"MLPerf Tiny VWW ({args.mlperf.name})", args.mlperf))
    profiles = args.profiles.split(",")
    per_kernels = {"cmsis-nn": profiles, "reference": args.reference_profiles.split(",")}
    if args.generated_profiles:
        per_kernels["generated"] = args.generated_profiles.split(",")
    gray = inputs(args.coco)
    rows = []
    for label, model in models:
        xs = for_model(model, gray)
        twin = twin_scores(model, xs)
        plain: dict[str, np.ndarray] = {}
        base = None
        for kernels, kernel_profiles in per_kernels.items():
            for profile in kernel_profiles:
                t0 = time.perf_counter()
                build = build_qemu_firmware(kernels, model=model, profile=profile)
                build_s = time.perf_counter() - t0
                counts, scores, wall = measure(build.elf, xs)
                med = statistics.median(counts)
                if profile == kernel_profiles[0]:
                    plain[kernels] = scores
                if kernels == "cmsis-nn" and profile == "plain":
                    base = med
                rows.append(
                    {
                        "model": label,
                        "kernels": kernels,
                        "profile": profile,
                        "instructions": med,
                        "spread": (min(counts), max(counts)),
                        "vs_plain": None,
                        "base": None,
                        "same_as_plain": bool(np.array_equal(scores, plain[kernels])),
                        "same_as_twin": bool(np.array_equal(scores, twin)),
                        "wall_s": wall,
                        "build_s": build_s,
                        "size": build.elf.stat().st_size,
                        "flash": elf_sizes(build.elf)[0],
                    }
                )
        for r in rows:
            if r["model"] == label and base:
                r["vs_plain"] = r["instructions"] / base
            r["base"] = r["instructions"] / ISSUE_BASELINE

    head = (
        "| model | kernels | build | instructions / inference | vs plain CMSIS-NN (this run) | vs 22.93 M "
        "| bit-exact vs first build of these kernels | bit-exact vs TFLM twin | Edge ESTIMATE at 96 MHz | flash |"
    )
    print(
        f"{len(gray)} inputs per firmware (2 upstream test images + {len(gray) - 2} COCO); "
        f"profiles: " + "; ".join(f"{p} = {PROFILES[p].description}" for p in PROFILES)
    )
    print(head)
    print("|" + "---|" * 10)
    for r in rows:
        vs = f"{r['vs_plain']:.3f}x" if r["vs_plain"] else "-"
        print(
            f"| {r['model']} | {r['kernels']} | {r['profile']} | {r['instructions'] / 1e6:.2f} M "
            f"| {vs} | {r['base']:.3f}x | {'yes' if r['same_as_plain'] else 'NO'} "
            f"| {'yes' if r['same_as_twin'] else 'no'} | {r['instructions'] / EDGE_HZ * 1e3:.0f} ms "
            f"| {r['flash'] / 1024:.0f} KB |"
        )
    print(
        "Edge ESTIMATE = instructions / 96 MHz, i.e. one instruction per cycle: QEMU counts instructions, not "
        "cycles; loads, branches and flash wait states make a real Cortex-M4 slower than this."
    )
    if not args.markdown:
        for r in rows:
            print(
                f"  {r['model']} {r['kernels']} {r['profile']}: spread {r['spread'][0]:,}..{r['spread'][1]:,}, "
                f"QEMU wall {r['wall_s']:.1f} s, build {r['build_s']:.0f} s, ELF {r['size']:,} B"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
