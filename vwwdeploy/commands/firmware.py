"""Build the SparkFun Edge firmware: `deps` fetches or locates the pinned upstream sources
(TFLite Micro, CMSIS-NN, AmbiqSuite SDK, ...) into the cache, `build` generates the model sources
and runs PlatformIO, `size` reports flash/RAM use against the Edge's limits. See docs/firmware.md."""

from __future__ import annotations

import argparse
from pathlib import Path

# Kept in step with vwwdeploy.firmware.deps.DEPS (imported lazily so --help stays instant).
DEP_OPTIONS = (
    ("tflm", "TensorFlow Lite Micro checkout"),
    ("cmsis_nn", "ARM-software/CMSIS-NN checkout"),
    ("cmsis_6", "ARM-software/CMSIS_6 checkout"),
    ("cortex_dfp", "ARM-software/Cortex_DFP checkout"),
    ("flatbuffers", "google/flatbuffers checkout"),
    ("gemmlowp", "google/gemmlowp checkout"),
    ("ruy", "google/ruy checkout"),
    ("kissfft", "mborgerding/kissfft checkout"),
    ("platform_apollo3blue", "nigelb/platform-apollo3blue checkout"),
    ("ambiqsdk", "sparkfun/AmbiqSuiteSDK (2.5.1-sfe) checkout"),
    ("ambiq_bsps", "sparkfun/SparkFun_Apollo3_AmbiqSuite_BSPs checkout (boards_sfe)"),
    ("svl", "sparkfun/Apollo3_Uploader_SVL checkout (the SVL bootloader's source)"),
)


def configure(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="firmware_command", metavar="<action>", required=True)

    deps = sub.add_parser(
        "deps",
        help="fetch (git) or locate the pinned upstream sources",
        description="Resolve every upstream dependency: a directory given here, "
        "else $VWWDEPLOY_<NAME>_DIR, else the cache; with internet, "
        "missing ones are cloned at their pinned commit.",
    )
    for name, what in DEP_OPTIONS:
        deps.add_argument(
            "--" + name.replace("_", "-"),
            dest=name,
            type=Path,
            metavar="DIR",
            help=f"{what} (env VWWDEPLOY_{name.upper()}_DIR)",
        )
    deps.add_argument("--offline", action="store_true", help="never run git; fail if something is missing")
    deps.add_argument("--list", action="store_true", help="print the pinned URLs and commits and exit")

    build = sub.add_parser("build", help="generate model sources, then build with PlatformIO")
    # --board qemu: the emulated board (docs/emulation.md), built with make, not PlatformIO.
    build.add_argument(
        "--board",
        choices=["edge", "qemu"],
        default="edge",
        help="edge: the SparkFun Edge (PlatformIO); qemu: QEMU's mps2-an386 for `vwwdeploy emulate`",
    )
    build.add_argument(
        "--bootloader",
        choices=["svl"],
        help="build a bootloader instead of the firmware: svl = SparkFun's SVL from its pinned source, for "
        "`vwwdeploy emulate --board edge --bootloader svl` (docs/emulation.md)",
    )
    build.add_argument(
        "--kernels",
        choices=["cmsis-nn", "reference", "generated"],
        default="cmsis-nn",
        help="TFLM kernels: cmsis-nn, reference (bit-exact with the host twin), or generated = convolutions "
        "specialised to the model (vwwdeploy/model/kernels/), CMSIS-NN for whatever the generator does not cover; "
        "on the Edge they pick the PlatformIO environment (sparkfun_edge, _ref, _generated; vwwdeploy/targets.py)",
    )
    build.add_argument(
        "--profile",
        choices=["plain", "o3-lto", "o2-lto"],
        default="plain",
        help="--board qemu optimisation: plain (the Edge build's levels; fewest instructions), "
        "o3-lto or o2-lto (for the benchmark)",
    )
    build.add_argument(
        "--app",
        choices=["binary", "mlperf"],
        default="binary",
        help="what the UART speaks: the vwwdeploy binary protocol, or the MLPerf Tiny DUT protocol at 115200 "
        "baud for `vwwdeploy mlperf` (Edge envs sparkfun_edge_mlperf / sparkfun_edge_ref_mlperf)",
    )
    build.add_argument(
        "--op-profile",
        action="store_true",
        help="--board qemu: a firmware that prints instructions per operator to QEMU's log after each "
        "inference (docs/emulation.md); run it with `vwwdeploy emulate --icount --firmware ELF`",
    )
    build.add_argument(
        "--env",
        action="append",
        metavar="ENV",
        help="PlatformIO environment: sparkfun_edge (CMSIS-NN, default) or "
        "sparkfun_edge_ref (reference kernels); repeat for several",
    )
    build.add_argument(
        "--model",
        type=Path,
        metavar="M.tflite",
        help="int8 model to embed (default: keep firmware/generated/, else the "
        "upstream person detector from the pinned TFLM)",
    )
    build.add_argument("--jobs", "-j", type=int, metavar="N", help="parallel compile jobs")
    build.add_argument("--verbose", "-v", action="store_true", help="show PlatformIO's output")
    build.add_argument(
        "--offline", action="store_true", help="never git-clone missing upstream sources (see `firmware deps`)"
    )

    size = sub.add_parser("size", help="flash/RAM use of built environments against the Edge's limits")
    size.add_argument("--env", action="append", metavar="ENV", help="environment(s) (default: all built)")
    size.add_argument("--json", action="store_true", help="print JSON")


def run(args: argparse.Namespace) -> int:
    return {"deps": _deps, "build": _build, "size": _size}[args.firmware_command](args)


def _deps(args: argparse.Namespace) -> int:
    from vwwdeploy.firmware import deps

    if args.list:
        for dep in deps.DEPS:
            print(f"{dep.name:<22}{dep.commit}  {dep.url}")
        return 0
    given = {name: getattr(args, name) for name, _ in DEP_OPTIONS if getattr(args, name) is not None}
    found = deps.resolve(given, fetch=not args.offline)
    out = deps.record(found)
    for name, path in found.items():
        print(f"{name:<22}{path}")
    print(f"recorded in {out}")
    return 0


def _build(args: argparse.Namespace) -> int:
    from vwwdeploy.errors import UserError
    from vwwdeploy.firmware.build import build
    from vwwdeploy.progress import say

    if args.jobs is not None and args.jobs < 1:
        raise UserError(f"--jobs must be at least 1, got {args.jobs}")
    if args.model is not None and not args.model.is_file():
        raise UserError(f"{args.model}: no such model file")
    if args.bootloader:
        return _build_bootloader(args)
    if args.board == "qemu":
        if args.env:
            raise UserError("--env names PlatformIO environments of the Edge; with --board qemu use --kernels")
        from vwwdeploy.firmware.qemu_build import build_qemu_firmware

        built = build_qemu_firmware(
            args.kernels, args.model, args.profile, args.jobs, app=args.app, op_profile=args.op_profile
        )
        app = " --app mlperf" if args.app == "mlperf" else ""
        run = f"--icount --firmware {built.elf}" if args.op_profile else f"--kernels {built.kernels}{app}"
        print(
            f"{built.elf}\n  qemu_an386, {built.kernels} kernels, {built.profile} profile, model {built.model.name} "
            f"(sha256 {built.model_sha256[:12]}...): run it with `vwwdeploy emulate {run}`"
        )
        return 0
    if args.op_profile:
        raise UserError("--op-profile needs --board qemu (the Edge has no instruction counter)")
    envs = _edge_envs(args)
    for report in build(envs, args.model, args.jobs, args.verbose, say=say, fetch=not args.offline):
        print("\n".join(report.lines()))
    return 0


def _edge_envs(args: argparse.Namespace) -> list[str]:
    """The PlatformIO environments for --kernels/--app, or --env's own names moved to --app's protocol."""
    from vwwdeploy import targets
    from vwwdeploy.errors import UserError

    if not args.env:
        target = targets.find("edge", args.kernels, args.app)
        if target is None:
            raise UserError(
                f"--kernels {args.kernels} with --app {args.app} is built for --board qemu only (docs/kernels.md)"
            )
        return [target.env]
    if args.kernels != "cmsis-nn":
        raise UserError("--env already names the kernels of each build; leave out --kernels")
    envs = []
    for name in args.env:
        given = targets.by_env(name)
        target = given and targets.find("edge", given.kernels, args.app, given.bootloader)
        if given is None or target is None:
            known = ", ".join(t.env for t in targets.TARGETS if t.board is targets.EDGE and t.app == args.app)
            raise UserError(f"unknown environment {name!r} for --app {args.app}: choose from {known}")
        envs.append(target.env)
    return envs


def _build_bootloader(args: argparse.Namespace) -> int:
    from vwwdeploy.errors import UserError
    from vwwdeploy.firmware.svl_build import build_svl

    if args.board != "edge" or args.env or args.model is not None or args.op_profile:
        raise UserError("--bootloader svl builds the SVL for the Edge alone: leave out --board qemu, --env, --model")
    built = build_svl(fetch=not args.offline)
    print(
        f"{built.elf}\n  SparkFun SVL bootloader (Apollo3_Uploader_SVL {built.commit[:12]}), linked at 0xC000: run "
        "it with `vwwdeploy emulate --board edge --bootloader svl`"
    )
    return 0


def _size(args: argparse.Namespace) -> int:
    import json

    from vwwdeploy.errors import UserError
    from vwwdeploy.firmware import build as build_mod
    from vwwdeploy.firmware import size

    root = build_mod.project_root()
    known = build_mod.environments(root / "platformio.ini")
    names = args.env or [n for n in known if build_mod.elf_path(root, n).is_file()]
    if not names:
        raise UserError("no firmware built yet: run `vwwdeploy firmware build` first")
    reports = []
    for name in names:
        if name not in known:
            raise UserError(f"unknown environment {name!r}: choose from {', '.join(known)}")
        elf = build_mod.elf_path(root, name)
        generated = root / build_mod.GENERATED
        reports.append(
            size.measure(elf, name, generated / "model_settings.h", build_mod._model_len(generated / "model_data.cc"))
        )
    if args.json:
        print(json.dumps([r.as_dict() for r in reports], indent=2))
    else:
        for r in reports:
            print("\n".join(r.lines()))
    return 0 if all(r.fits() for r in reports) else 1
