"""The whole `vwwdeploy validate` run: check inputs, greet the boards, shard the images across them in
parallel threads while the host paths run alongside, compare, and write the report folder atomically."""

from __future__ import annotations

import csv
import hashlib
import io
import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from vwwdeploy.apps.validation import paths as vpaths
from vwwdeploy.apps.validation.inputs import ValidationInputs, load_inputs, precheck_data
from vwwdeploy.apps.validation.metrics import dequantize
from vwwdeploy.apps.validation.shard import run_parallel
from vwwdeploy.constants import DEFAULT_BAUD, REQUEST_RETRIES, REQUEST_TIMEOUT_S
from vwwdeploy.data import input_convention
from vwwdeploy.errors import UserError


@dataclass
class BoardRun:
    port: str
    info: object | None = None  # protocol.messages.DeviceInfo
    sha_match: bool = True
    indices: list[int] = field(default_factory=list)
    wall_s: float | None = None
    link: dict = field(default_factory=dict)


@dataclass
class ValidationRun:
    """Everything the report is made of (report_json.build_report reads it)."""

    version: str
    model: dict
    inputs: ValidationInputs
    label_names: list[str]
    num_classes: int
    paths: dict  # name -> paths.PathOutput ("device", "twin", "litert", "float")
    latency_us: np.ndarray
    instructions: np.ndarray
    board_of: np.ndarray
    boards: list[BoardRun]
    limit: int | None = None
    forced: bool = False
    warnings: list[str] = field(default_factory=list)


def _check_arguments(ports, model: Path, data: Path, report: Path, checkpoint) -> None:
    """Everything that can be checked before a board is touched, so bad input costs nothing."""
    from vwwdeploy.atomic import check_writable_dir

    if not ports:
        raise UserError(
            "give at least one --port (a serial device, socket://HOST:PORT or the path `vwwdeploy sim` prints)"
        )
    if len(set(ports)) != len(ports):
        raise UserError("the same --port is given twice")
    if not model.exists():
        raise UserError(f"{model}: no such model file")
    if not model.is_file():
        raise UserError(f"{model} is not a file")
    if not data.exists():
        raise UserError(f"{data}: no such labels CSV or dataset folder")
    if checkpoint is not None and not Path(checkpoint).is_dir():
        raise UserError(f"{checkpoint}: no such training folder (--checkpoint)")
    check_writable_dir(report)
    if report.is_dir() and any(report.iterdir()) and not (report / "report.json").is_file():
        # The report folder is replaced whole: never do that to a folder that is not an earlier report.
        raise UserError(
            f"{report} exists and is not a validate report folder (no report.json); choose another --report"
        )


def _read_model(model: Path) -> bytes:
    try:
        data = model.read_bytes()
    except OSError as exc:
        raise UserError(f"{model}: cannot read: {exc.strerror}") from None
    if len(data) < 8 or data[4:8] != b"TFL3":
        raise UserError(f"{model} is not a .tflite model (no TFL3 identifier)")
    return data


def _link_stats(dev, wall_s: float | None, baud: int | None) -> dict:
    from vwwdeploy.apps.validation.report_json import jsonable

    stats = jsonable(getattr(dev, "stats", None)) or {}
    if not isinstance(stats, dict):
        stats = {}
    moved = stats.get("bytes_sent", 0) + stats.get("bytes_received", 0)
    stats["bytes_per_s"] = moved / wall_s if wall_s else None
    payload = stats.get("payload_bytes_sent", 0) + stats.get("payload_bytes_received", 0)
    stats["payload_bytes_per_s"] = payload / wall_s if wall_s and payload else None
    stats["baud"] = baud
    return stats


def connect(
    ports: list[str],
    baud: int,
    sha256: str,
    force: bool,
    model_name: str,
    timeout: float = REQUEST_TIMEOUT_S,
    retries: int = REQUEST_RETRIES,
    device_factory=None,
) -> tuple[list, list[BoardRun], list[str]]:
    """Open and greet every board; refuse a board whose model differs unless forced."""
    if device_factory is None:
        from vwwdeploy.link.client import Device as device_factory

    devices, boards, warnings = [], [], []
    try:
        for port in ports:
            dev = device_factory(port, baud=baud, timeout=timeout, retries=retries)
            devices.append(dev)
            info = dev.hello()
            match = info.model_sha256.lower() == sha256
            if not match and not force:
                raise UserError(
                    f"the board on {port} runs model sha256 {info.model_sha256[:16]}..., not {model_name} "
                    f"({sha256[:16]}...); flash that model or pass --force"
                )
            if not match:
                warnings.append(
                    f"{port}: the board's model sha256 {info.model_sha256} differs from {model_name}'s (--force)"
                )
            boards.append(BoardRun(port=port, info=info, sha_match=match))
    except BaseException:
        for dev in devices:
            dev.close()
        raise
    return devices, boards, warnings


def _model_specs(twin, boards: list[BoardRun]):
    """(input shape, input scale, input zero point, output scale, output zp, classes): the model's own
    tensors from the twin; the first board's INFO when TFLM cannot load the model."""
    if twin is not None:
        i, o = twin.inputs[0], twin.outputs[0]
        return tuple(i.shape), i.scale, i.zero_point, o.scale, o.zero_point, int(np.prod(o.shape))
    info = boards[0].info
    return (
        tuple(info.input.shape),
        info.input.scale,
        info.input.zero_point,
        info.output.scale,
        info.output.zero_point,
        int(np.prod(info.output.shape)),
    )


def _results_csv(run: ValidationRun) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    names = [
        n for n in ("device", "twin", "litert", "float") if run.paths.get(n) is not None and run.paths[n].available
    ]
    writer.writerow(
        ["index", "image", "label", "board", "latency_us"]
        + [f"{n}_scores" for n in names]
        + [f"{n}_pred" for n in names]
    )
    from vwwdeploy.apps.validation.metrics import predictions

    preds = {n: predictions(run.paths[n].q if run.paths[n].q is not None else run.paths[n].probs) for n in names}
    for i in range(len(run.inputs)):
        board = run.boards[run.board_of[i]].port if run.board_of[i] >= 0 else ""
        scores = []
        for n in names:
            p = run.paths[n]
            s = p.q[i] if p.q is not None else np.round(p.probs[i], 6)
            scores.append(" ".join(str(v) for v in np.ravel(s)))
        writer.writerow(
            [i, run.inputs.names[i], int(run.inputs.labels[i]), board, int(run.latency_us[i])]
            + scores
            + [int(preds[n][i]) for n in names]
        )
    return buf.getvalue()


def write_report(run: ValidationRun, out: Path) -> dict:
    from vwwdeploy.apps.validation.report_html import render_html
    from vwwdeploy.apps.validation.report_json import build_report
    from vwwdeploy.atomic import atomic_dir

    report = build_report(run)
    html = render_html(report, run)
    with atomic_dir(out) as tmp:
        (tmp / "report.json").write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
        (tmp / "report.html").write_text(html, encoding="utf-8")
        (tmp / "results.csv").write_text(_results_csv(run), encoding="utf-8")
    return report


def validate(
    ports: list[str],
    model: Path,
    data: Path,
    report: Path,
    limit: int | None = None,
    checkpoint: Path | None = None,
    force: bool = False,
    baud: int = DEFAULT_BAUD,
    timeout: float = REQUEST_TIMEOUT_S,
    retries: int = REQUEST_RETRIES,
    show_progress: bool = True,
    device_factory=None,
    camera_like_seed: int | None = None,
    recorded_as=None,
) -> dict:
    """Run the validation and write `report` (report.json, report.html, results.csv); returns report.json's dict.

    device_factory(url, baud=, timeout=, retries=) makes the board objects (default `Device`; tests pass fakes).
    recorded_as(path) -> str names the model and data in the report (default str): a caller that validates
    in a temporary folder it renames afterwards names the final paths.
    """
    from vwwdeploy import __version__
    from vwwdeploy.model.tflm_twin import TflmAbort, TflmTwin

    model, data, report = Path(model), Path(data), Path(report)
    _check_arguments(ports, model, data, report, checkpoint)
    if limit is not None and limit < 1:
        raise UserError(f"--limit must be at least 1, not {limit}")
    model_bytes = _read_model(model)
    precheck_data(data)
    sha256 = hashlib.sha256(model_bytes).hexdigest()

    devices, boards, warnings = connect(ports, baud, sha256, force, model.name, timeout, retries, device_factory)
    twin = None
    try:
        try:
            twin = TflmTwin(model_bytes)
            twin_failure = None
        except TflmAbort as exc:
            twin_failure = str(exc)
        in_shape, in_scale, in_zp, out_scale, out_zp, k = _model_specs(twin, boards)
        for b in boards:
            if tuple(b.info.input.shape[-3:]) != tuple(in_shape[-3:]):
                raise UserError(
                    f"the board on {b.port} expects input {b.info.input.shape}, {model.name} has {in_shape}"
                )
            if int(np.prod(b.info.output.shape)) != k:
                raise UserError(f"the board on {b.port} outputs {b.info.output.shape}, {model.name} has {k} classes")
        if not input_convention.takes_camera_input(in_scale, in_zp):
            warnings.append(input_convention.mismatch(in_scale, in_zp))
        modes = {int(b.info.pipeline_mode) for b in boards}
        if len(modes) > 1:
            warnings.append("the boards use different camera pipeline modes; CSV images follow the first board's")
        inputs = load_inputs(
            data,
            in_shape,
            limit,
            k,
            pipeline_mode=int(boards[0].info.pipeline_mode),
            camera_like_seed=camera_like_seed,
            input_scale=in_scale,
            input_zero_point=in_zp,
        )
        if recorded_as is not None:
            inputs.data_path = recorded_as(Path(inputs.data_path))
        label_names = inputs.label_names or list(boards[0].info.labels)
        if len(label_names) != k:
            label_names = [f"class{c}" for c in range(k)]

        x = inputs.int8
        host_jobs = [
            (
                "twin",
                "TFLM twin",
                (lambda adv: vpaths.run_twin(twin, x, adv))
                if twin is not None
                else (lambda adv: vpaths.PathOutput.unavailable("twin", twin_failure or "the TFLM twin did not start")),
            ),
            ("litert", "LiteRT", lambda adv: vpaths.run_litert(model_bytes, x, adv)),
            (
                "float",
                "float model" if checkpoint is not None else None,
                lambda adv: vpaths.run_float(checkpoint, x, in_scale, in_zp, adv),
            ),
        ]
        scores, host = run_parallel(devices, boards, x, k, host_jobs, show_progress)
        for bi, dev in enumerate(devices):
            boards[bi].link = _link_stats(dev, boards[bi].wall_s, baud)

        dev_spec = boards[0].info.output
        device_out = vpaths.PathOutput(
            "device", True, q=scores.q, probs=dequantize(scores.q, dev_spec.scale, dev_spec.zero_point)
        )
        run = ValidationRun(
            version=__version__,
            model={
                "path": (recorded_as or str)(model),
                "sha256": sha256,
                "bytes": len(model_bytes),
                "input": {"shape": list(in_shape), "scale": in_scale, "zero_point": in_zp},
                "output": {"classes": k, "scale": out_scale, "zero_point": out_zp},
            },
            inputs=inputs,
            label_names=label_names,
            num_classes=k,
            paths={"device": device_out, "twin": host["twin"], "litert": host["litert"], "float": host["float"]},
            latency_us=scores.latency_us,
            instructions=scores.instructions,
            board_of=scores.board_of,
            boards=boards,
            limit=limit,
            forced=any(not b.sha_match for b in boards),
            warnings=warnings,
        )
        return write_report(run, report)
    finally:
        for dev in devices:
            dev.close()
        if twin is not None:
            twin.close()
