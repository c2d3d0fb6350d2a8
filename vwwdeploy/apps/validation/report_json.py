"""report.json: a stable, documented shape users' CI can read (docs/validation.md lists every key).

Top-level keys never disappear: a path that could not run is `{"available": false, "reason": ...,
"accuracy": null}`, a comparison that needs it has null numbers.
"""

from __future__ import annotations

import dataclasses
import enum
import time
from pathlib import Path

import numpy as np

from vwwdeploy.apps.validation import metrics

FORMAT = "vwwdeploy-validation-report"
FORMAT_VERSION = 1
PATH_NAMES = ("device", "twin", "litert", "float")


def jsonable(obj):
    """Dataclasses, enums, numpy scalars/arrays, Paths, bytes -> plain JSON values."""
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: jsonable(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, enum.Flag):
        return [m.name.lower() for m in type(obj) if m.value and m in obj]
    if isinstance(obj, enum.Enum):
        return obj.name.lower()
    if isinstance(obj, dict):
        return {str(k): jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, (bytes, bytearray)):
        return bytes(obj).hex()
    if isinstance(obj, Path):
        return str(obj)
    if isinstance(obj, float) and not np.isfinite(obj):
        return None
    return obj


def path_entry(out, labels: np.ndarray, num_classes: int) -> dict:
    if out is None or not out.available:
        return {
            "available": False,
            "reason": getattr(out, "reason", None),
            "accuracy": None,
            "confusion_matrix": None,
            "predictions": None,
        }
    scores = out.q if out.q is not None else out.probs
    pred = metrics.predictions(scores)
    entry = {
        "available": True,
        "accuracy": metrics.accuracy(pred, labels),
        "confusion_matrix": metrics.confusion_matrix(pred, labels, num_classes),
        "positives_predicted": int(np.sum(pred == num_classes - 1)),
    }
    if out.note:
        entry["note"] = out.note
    return entry


def int8_comparison(a, b) -> dict:
    if a is None or b is None or not a.available or not b.available:
        missing = [p.name if p else "?" for p in (a, b) if p is None or not p.available]
        empty = metrics.int8_agreement(np.zeros((0, 1)), np.zeros((0, 1)))
        return {**empty, "available": False, "reason": f"{', '.join(missing)} unavailable"}
    return {"available": True, **metrics.int8_agreement(a.q, b.q)}


def cross(ref, test) -> dict:
    if ref is None or test is None or not ref.available or not test.available:
        return {"available": False, **metrics.cross_metrics(np.zeros(0), np.zeros(0))}
    return {"available": True, **metrics.cross_metrics(ref.probs, test.probs)}


def build_report(run) -> dict:
    """run: a `runner.ValidationRun`."""
    inputs = run.inputs
    labels = inputs.labels
    k = run.num_classes
    paths = run.paths
    device, twin, litert, flt = (paths.get(n) for n in PATH_NAMES)

    boards = []
    for b in run.boards:
        idx = np.asarray(b.indices, dtype=np.int64)
        row = {
            "port": b.port,
            "board": b.info.board if b.info else None,
            "firmware_name": getattr(b.info, "firmware_name", None),
            "firmware_version": getattr(b.info, "firmware_version", None),
            "kernels": jsonable(getattr(b.info, "kernels", None)),
            "model_sha256": getattr(b.info, "model_sha256", None),
            "sha256_matches": b.sha_match,
            "images": int(len(idx)),
            "accuracy": None,
            "bit_exact_rate_vs_twin": None,
            "max_abs_delta_vs_twin": None,
            "latency_us": metrics.latency_summary(run.latency_us[idx]) if len(idx) else metrics.latency_summary([]),
            "wall_s": b.wall_s,
            "images_per_s": (len(idx) / b.wall_s) if b.wall_s else None,
            "link": b.link,
            "hello": jsonable(b.info),
        }
        if len(idx) and device is not None and device.available:
            row["accuracy"] = metrics.accuracy(metrics.predictions(device.q[idx]), labels[idx])
            if twin is not None and twin.available:
                agree = metrics.int8_agreement(device.q[idx], twin.q[idx])
                row["bit_exact_rate_vs_twin"] = agree["bit_exact_rate"]
                row["max_abs_delta_vs_twin"] = agree["max_abs_delta"]
        boards.append(row)

    link_totals = {}
    for b in run.boards:
        for key, val in (b.link or {}).items():
            if (
                isinstance(val, (int, float))
                and not isinstance(val, bool)
                and not key.endswith("_per_s")
                and key != "baud"
            ):
                link_totals[key] = link_totals.get(key, 0) + val
    wall = max((b.wall_s for b in run.boards if b.wall_s), default=None)
    link_totals["wall_s"] = wall
    moved = link_totals.get("bytes_sent", 0) + link_totals.get("bytes_received", 0)
    link_totals["bytes_per_s"] = (moved / wall) if wall else None
    link_totals["images_per_s"] = (len(labels) / wall) if wall else None

    return jsonable(
        {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "vwwdeploy_version": run.version,
            "model": run.model,
            "data": {
                "path": inputs.data_path,
                "source": inputs.source,
                "preprocessing": inputs.preprocessing,
                "count": len(labels),
                "available": inputs.total_available,
                "limit": run.limit,
                "per_class": [int(np.sum(labels == c)) for c in range(k)],
                "label_names": run.label_names,
                "notes": inputs.notes,
            },
            "paths": {
                "ground_truth": {"available": True, "accuracy": 1.0 if len(labels) else None},
                **{name: path_entry(paths.get(name), labels, k) for name in PATH_NAMES},
            },
            "device_vs_twin": int8_comparison(device, twin),
            "device_vs_litert": int8_comparison(device, litert),
            "twin_vs_litert": int8_comparison(twin, litert),
            "cross_metrics": {
                "device_vs_twin": cross(twin, device),
                "device_vs_litert": cross(litert, device),
                "device_vs_float": cross(flt, device),
            },
            "latency_us": metrics.latency_summary(run.latency_us)
            if device and device.available
            else metrics.latency_summary([]),
            "instructions": {
                "median": float(np.median(run.instructions))
                if len(run.instructions) and np.any(run.instructions)
                else None,
            },
            "link": link_totals,
            "boards": boards,
            "forced": run.forced,
            "warnings": run.warnings,
        }
    )
