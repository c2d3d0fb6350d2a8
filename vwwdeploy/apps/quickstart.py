"""The quickstart pipeline: every stage the project has, in order, on a built-in default, offline.

The default data is SYNTHETIC (procedurally drawn figures vs clutter): it proves that the pipeline
runs end to end on this machine, not that the model detects people. Every stage runs through the same
public functions the individual commands use.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import urllib.error
import urllib.request
from pathlib import Path

from vwwdeploy.apps.quickstart_defaults import PRETRAINED_SHA256, PRETRAINED_SIZE
from vwwdeploy.atomic import atomic_dir, atomic_write_text
from vwwdeploy.errors import UserError
from vwwdeploy.progress import say
from vwwdeploy.training.loss_window import describe as describe_loss

MARKER = "quickstart.json"


def download_pretrained(url: str, dest: Path) -> Path:
    """Fetch the upstream model and refuse anything whose sha256 is not the pinned one."""
    try:
        with urllib.request.urlopen(url, timeout=60) as response:
            data = response.read(PRETRAINED_SIZE + 1)
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        raise UserError(
            f"cannot download the pretrained model from {url}: {reason} (no network? run without --pretrained)"
        ) from None
    digest = hashlib.sha256(data).hexdigest()
    if digest != PRETRAINED_SHA256:
        raise UserError(
            f"downloaded model has sha256 {digest[:16]}..., expected {PRETRAINED_SHA256[:16]}...; refusing it"
        )
    dest.write_bytes(data)
    return dest


def _check_out(out: Path) -> None:
    if out.exists() and (not out.is_dir() or (any(out.iterdir()) and not (out / MARKER).exists())):
        raise UserError(f"{out} exists and is not an earlier quickstart output; choose another --out")


def run_quickstart(args: argparse.Namespace) -> int:
    out = Path(args.out)
    _check_out(out)
    if args.images < 20:
        raise UserError(f"--images must be at least 20, not {args.images}")
    if args.steps < 1:
        raise UserError(f"--steps must be at least 1, not {args.steps}")
    summary: dict = {"synthetic": True, "stages": {}}
    with atomic_dir(out) as work:
        summary = _pipeline(args, work, out)
        atomic_write_text(work / MARKER, json.dumps(summary, indent=2, default=str) + "\n")
    _print_summary(summary, out)
    return 0


def _pipeline(args: argparse.Namespace, work: Path, out: Path) -> dict:
    from vwwdeploy.data.build import BuildOptions, build_coco_dir
    from vwwdeploy.data.synthetic import make_synthetic_coco

    stages: dict = {}
    if args.pretrained:
        # First, so a network or checksum failure costs nothing else.
        say("[bold]model[/]: upstream TFLM person detector (pinned, sha256-checked)")
        model = download_pretrained(args.pretrained_url, work / "model.tflite")
        stages["model"] = {"source": args.pretrained_url, "sha256": PRETRAINED_SHA256}
    n_val = max(10, args.images // 5)
    say(f"[bold]1/7 synthetic data[/]: drawing {args.images} SYNTHETIC images (figures vs clutter)")
    make_synthetic_coco(work / "synthetic-coco", n_train=args.images - n_val, n_val=n_val, seed=args.seed)

    say("[bold]2/7 dataset build[/]: VWW labels + image store")
    manifests = build_coco_dir(work / "synthetic-coco", work / "dataset", BuildOptions(quiet=False))
    stages["dataset"] = {
        name: {"count": m.get("count"), "positives": m.get("positives")} for name, m in manifests.items()
    }

    if not args.pretrained:
        model = _train_and_export(args, work, stages)

    say("[bold]5/7 inspect[/]: TFLM arena (measured), board fit")
    from vwwdeploy.model import generate_sources, inspect_model

    report = inspect_model(model)
    atomic_write_text(work / "inspect.json", json.dumps(report, indent=2, default=str) + "\n")
    stages["inspect"] = {
        "ok": report.get("ok"),
        "arena_measured": (report.get("arena") or {}).get("measured_bytes"),
        "problems": [p.get("message") for p in report.get("problems", [])],
    }

    say("[bold]6/7 codegen[/]: firmware model sources")
    files = generate_sources(model, work / "firmware-src")
    stages["codegen"] = {"files": [Path(f).name for f in files]}

    say("[bold]7/7 validate[/]: simulated board vs TFLM twin vs LiteRT on the val images")
    stages["validate"] = _validate_on_sim(model, work, out)
    return {"synthetic": True, "out": str(out), "stages": stages}


def _train_and_export(args: argparse.Namespace, work: Path, stages: dict) -> Path:
    from vwwdeploy.training.evaluation import evaluate_checkpoint
    from vwwdeploy.training.export import export_int8
    from vwwdeploy.training.loop import train

    say(f"[bold]3/7 train[/]: MobileNetV1-0.25, {args.steps} steps (batch {args.batch_size})")
    result = train(
        work / "dataset",
        work / "train",
        max_steps=args.steps,
        batch_size=args.batch_size,
        log_every_steps=max(1, args.steps // 10),
        log=say,
    )
    stages["train"] = {"steps": result.get("step"), "smoothed_loss": result.get("smoothed_loss")}
    evaluation = evaluate_checkpoint(work / "train", work / "dataset", "val")
    stages["evaluate"] = {"float_accuracy": evaluation.get("accuracy")}
    say(f"eval/Accuracy[{evaluation.get('accuracy'):.4f}] (float, EMA weights, SYNTHETIC val)")

    say("[bold]4/7 export[/]: int8 .tflite, calibrated on the val split")
    model = work / "model.tflite"
    exported = export_int8(work / "train", work / "dataset", model, calibration_images=min(300, args.images))
    stages["export"] = {
        "bytes": exported.get("bytes"),
        "ops": exported.get("ops"),
        "float_accuracy": exported.get("float_accuracy"),
        "int8_accuracy": exported.get("int8_accuracy"),
        "warnings": exported.get("warnings"),
    }
    return model


def _validate_on_sim(model: Path, work: Path, out: Path) -> dict:
    from vwwdeploy.apps.validation.runner import validate
    from vwwdeploy.virtual_boards.sim.board import start_sim_in_thread

    url, stop = start_sim_in_thread(model)
    try:
        # Built in `work`, which becomes `out` when everything is done: the report names the final paths.
        def recorded_as(path: Path) -> str:
            return str(out / path.relative_to(work)) if path.is_relative_to(work) else str(path)

        report = validate([url], model, work / "dataset" / "val", work / "validation", recorded_as=recorded_as)
    finally:
        stop()
    paths = report["paths"]
    return {
        "board": url,
        "count": report["data"]["count"],
        "accuracy": {name: p.get("accuracy") for name, p in paths.items() if p.get("available")},
        "device_vs_twin": report["device_vs_twin"],
        "report": str(out / "validation" / "report.html"),
    }


def _print_summary(summary: dict, out: Path) -> None:
    stages = summary["stages"]
    print("vwwdeploy quickstart: done (data: SYNTHETIC; accuracies say nothing about real person detection)")
    if "train" in stages:
        t = stages["train"]
        print(f"  train     {t['steps']} steps, {describe_loss(t['smoothed_loss'])}")
    if "export" in stages:
        e = stages["export"]
        print(
            f"  export    {e['bytes']:,} B int8; "
            f"accuracy float {e['float_accuracy']:.3f}, int8 {e['int8_accuracy']:.3f}"
        )
    i = stages["inspect"]
    print(f"  inspect   {'fits the SparkFun Edge' if i['ok'] else 'PROBLEMS: ' + '; '.join(i['problems'])}")
    v = stages["validate"]
    dvt = v["device_vs_twin"]
    print(
        f"  validate  {v['count']} images on the simulated board: device vs TFLM twin "
        f"{100 * dvt['bit_exact_rate']:.1f}% bit-exact (max |delta| {dvt['max_abs_delta']})"
    )
    print(f"  outputs   {out}/model.tflite, {out}/firmware-src/, {out}/validation/report.html")
