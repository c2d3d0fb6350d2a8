"""What the page is sent: a board's HELLO and each streamed capture as JSON-able dicts.

Pixels travel as base64 of the exact bytes the board sent in its FRAME (uint8, row-major, channels
interleaved), so the page draws precisely what the model saw and a test can compare byte for byte.
"""

from __future__ import annotations

import base64

import numpy as np

from vwwdeploy.link.protocol.pipeline import crop_window, supports_shape

PIPELINE_NAMES = {0: "decimate", 1: "box-average"}


def class_labels(info) -> list[str]:
    n = int(np.prod(info.output.shape))
    labels = list(info.labels)
    return labels if len(labels) == n else [f"class{i}" for i in range(n)]


def focus_index(labels: list[str]) -> int | None:
    """The class the score bar follows: "person" if the model has it (else the second of two classes)."""
    for i, label in enumerate(labels):
        if label.lower() == "person":
            return i
    return 1 if len(labels) == 2 else None


def hello_view(info, port: str) -> dict:
    from vwwdeploy.link.protocol.messages import Capability

    caps = [c.name.lower().replace("_", " ") for c in Capability if c and int(info.capabilities) & int(c)]
    labels = class_labels(info)
    focus = focus_index(labels)
    return {
        "port": port,
        "board": info.board,
        "firmware_name": info.firmware_name,
        "firmware_version": info.firmware_version,
        "protocol_version": info.protocol_version,
        "model_sha256": info.model_sha256,
        "kernels": info.kernels,
        "clock_hz": int(info.clock_hz),
        "arena_size": int(info.arena_size),
        "arena_used": int(info.arena_used),
        "input_shape": [int(d) for d in info.input.shape],
        "input_dtype": info.input.dtype,
        "output_scale": float(info.output.scale),
        "output_zero_point": int(info.output.zero_point),
        "labels": labels,
        "focus_index": focus,
        "focus_label": labels[focus] if focus is not None else None,
        "pipeline": PIPELINE_NAMES.get(int(info.pipeline_mode), str(int(info.pipeline_mode))),
        "capabilities": caps,
    }


def dequantize(scores: np.ndarray, info) -> list[float]:
    return [float((int(s) - info.output.zero_point) * info.output.scale) for s in scores]


def _crop_of(height: int, width: int) -> list[int] | None:
    """[x0, y0, width, height] of the sensor window the frame was resampled from (protocol.md section 5)."""
    if not supports_shape(height, width, 1):
        return None
    return list(crop_window(height, width))


def frame_view(index: int, time_s: float, capture, info, fps: float | None) -> dict:
    """One STREAM group (FRAME [raw FRAME] RESULT) for the page."""
    frame = np.ascontiguousarray(capture.frame, dtype=np.uint8)
    h, w = frame.shape[:2]
    channels = 1 if frame.ndim == 2 else int(frame.shape[2])
    view = {
        "index": index,
        "time_s": round(time_s, 4),
        "seq": int(capture.seq),
        "width": int(w),
        "height": int(h),
        "channels": channels,
        "pixels": base64.b64encode(frame.tobytes()).decode("ascii"),
        "fps": None if fps is None else round(fps, 3),
    }
    if capture.raw is not None:
        raw = np.ascontiguousarray(capture.raw, dtype=np.uint8)
        view.update(
            raw=base64.b64encode(raw.tobytes()).decode("ascii"),
            raw_width=int(raw.shape[1]),
            raw_height=int(raw.shape[0]),
            crop=_crop_of(h, w),
        )
    result = capture.result
    if result is not None:
        scores = np.asarray(result.scores).astype(np.int8).reshape(-1)
        labels = class_labels(info)
        probs = dequantize(scores, info)
        top = int(scores.argmax())
        focus = focus_index(labels)
        focus = top if focus is None or focus >= len(scores) else focus
        view.update(
            scores=[int(s) for s in scores],
            probs=[round(p, 6) for p in probs],
            label=labels[top] if top < len(labels) else f"class{top}",
            label_index=top,
            focus_score=probs[focus],
            latency_us=int(result.latency_us),
            instructions=int(result.instructions),
        )
    return view
