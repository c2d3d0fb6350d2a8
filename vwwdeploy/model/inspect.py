"""`inspect_model`: everything a firmware author needs to know about a .tflite, and every problem.

The report is a plain dict (what `vwwdeploy inspect --json` prints). Problems carry a `severity`:
"error" means the model cannot run on the Edge as it is (codegen refuses it); "warning" means it can,
but something else (e.g. LiteRT on the host) will trip over it.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from vwwdeploy.data import input_convention
from vwwdeploy.model import board
from vwwdeploy.model.flatbuf import ModelFormatError
from vwwdeploy.model.ops import RESOLVER_METHODS, unsupported_hint
from vwwdeploy.model.runtimes import litert_probe, tflm_probe
from vwwdeploy.model.schema import Model, Tensor, load_bytes, parse_model
from vwwdeploy.model.stats import mac_count, parameter_count

EXPORT_HINT = "`vwwdeploy export` turns a training run into a full-integer int8 model (int8 input and output)"

# TFLM's int8 softmax turns input_scale * beta * 2^(31 - 5) into a fixed-point multiplier and aborts
# (TFLITE_CHECK in QuantizeMultiplierGreaterThanOne) unless that product exceeds 1.
_SOFTMAX_SCALE_FLOOR = 1.0 / (1 << 26)


def _problem(code: str, severity: str, message: str, hint: str) -> dict:
    return {"code": code, "severity": severity, "message": message, "hint": hint}


def tensor_info(t: Tensor) -> dict:
    q = t.quantization
    single = q is not None and len(q.scale) == 1
    return {
        "name": t.name,
        "shape": list(t.shape),
        "dtype": t.dtype,
        "scale": float(q.scale[0]) if q and q.scale else None,
        "zero_point": int(q.zero_point[0]) if q and q.zero_point else None,
        "per_channel": bool(q and len(q.scale) > 1),
        **({} if single or not q else {"quantized_dimension": q.quantized_dimension}),
    }


def quantized_dimension_defects(model: Model) -> list[tuple[int, Tensor, bool]]:
    """(subgraph, tensor, fixable) for every tensor whose quantized_dimension is wrong or meaningless.

    Wrong: outside [0, rank). Meaningless: non-zero on a per-tensor (single scale) quantization; LiteRT
    does not mind that, but it is the same defect in a model that happens to have rank > dimension.
    Fixable means setting it to 0 keeps the math: one scale, or as many scales as dimension 0.
    """
    found = []
    for s, sg in enumerate(model.subgraphs):
        for t in sg.tensors:
            q = t.quantization
            if q is None or q.quantized_dimension == 0:
                continue
            rank = len(t.shape)
            out_of_range = not 0 <= q.quantized_dimension < max(rank, 1)
            if len(q.scale) <= 1:
                found.append((s, t, True))
            elif out_of_range:
                found.append((s, t, bool(t.shape) and t.shape[0] == len(q.scale)))
    return found


def _static_problems(model: Model, sg) -> list[dict]:
    problems = []
    ins = [sg.tensors[i] for i in sg.inputs]
    outs = [sg.tensors[i] for i in sg.outputs]
    op_names = sorted({model.op_name(op) for s in model.subgraphs for op in s.operators})

    float_io = [t for t in ins + outs if t.dtype != "int8"]
    float_inside = [
        t
        for t in sg.tensors
        if t.dtype in ("float32", "float16") and (t.buffer == 0 or model.buffer_sizes[t.buffer] == 0)
    ]
    if float_io or float_inside:
        what = (
            f"{'input' if float_io[0] in ins else 'output'} {float_io[0].name!r} is {float_io[0].dtype}"
            if float_io
            else f"tensor {float_inside[0].name!r} is computed in {float_inside[0].dtype}"
        )
        problems.append(
            _problem(
                "float_model",
                "error",
                f"not a full-integer int8 model: {what}; the board needs int8 in and out",
                EXPORT_HINT,
            )
        )

    if ins and ins[0].dtype == "int8":
        q = ins[0].quantization
        scale = q.scale[0] if q and q.scale else None
        zp = q.zero_point[0] if q and q.zero_point else None
        if not input_convention.takes_camera_input(scale, zp):
            problems.append(
                _problem(
                    "input_quantization",
                    "warning",
                    input_convention.mismatch(scale, zp),
                    "export with inputs scaled as pixel/127.5-1 (as `vwwdeploy export` does), or requantize "
                    "in the firmware using kInputScale/kInputZeroPoint",
                )
            )
        if len(ins[0].shape) == 4 and ins[0].shape[-1] != 1:
            problems.append(
                _problem(
                    "input_channels",
                    "warning",
                    f"the model takes {ins[0].shape[-1]} channels; the Edge's HM01B0 camera is monochrome",
                    "train on grayscale (the default) for the board; RGB models suit the simulated board only",
                )
            )

    for name in op_names:
        if name not in RESOLVER_METHODS:
            problems.append(
                _problem(
                    "unsupported_op",
                    "error",
                    f"op {name} is not supported by TFLM in our Edge build",
                    unsupported_hint(name),
                )
            )

    for op in sg.operators:
        if model.op_name(op) == "SOFTMAX" and op.inputs:
            t = sg.tensors[op.inputs[0]]
            q = t.quantization
            if t.dtype == "int8" and q and q.scale and q.scale[0] <= _SOFTMAX_SCALE_FLOOR:
                problems.append(
                    _problem(
                        "degenerate_softmax",
                        "error",
                        f"softmax input {t.name!r} has scale {q.scale[0]:.3g}, too small for TFLM's int8 softmax "
                        "(TFLM aborts on it); typical of an untrained or collapsed model",
                        "train the model (longer) before exporting; its logits must vary over the calibration set",
                    )
                )

    defects = quantized_dimension_defects(model)
    if defects:
        bad = [d for d in defects if not 0 <= d[1].quantization.quantized_dimension < max(len(d[1].shape), 1)]
        fixable = all(f for _, _, f in defects)
        problems.append(
            _problem(
                "quantized_dimension",
                "warning",
                f"{len(defects)} tensor(s) carry a wrong quantized_dimension"
                f"{f' ({len(bad)} out of range for their rank)' if bad else ''}, e.g. {defects[0][1].name!r} "
                f"(rank {len(defects[0][1].shape)}, dimension {defects[0][1].quantization.quantized_dimension})",
                "`vwwdeploy inspect --fix IN OUT` sets it to 0 and proves the outputs unchanged"
                if fixable
                else "re-export the model; some of these cannot be repaired without changing the math",
            )
        )
    return problems


def static_problems(model: bytes | str | Path) -> list[dict]:
    """The problems the flatbuffer alone shows, without running a runtime (fast): float model,
    unsupported ops, degenerate softmax scale, quantized_dimension, input convention."""
    data, name = load_bytes(model)
    try:
        m = parse_model(data)
    except ModelFormatError as exc:
        raise ModelFormatError(f"{name}: {exc}") from None
    return _static_problems(m, m.subgraphs[0])


def inspect_model(
    model: bytes | str | Path,
    *,
    firmware_budget_flash: int = board.FIRMWARE_FLASH_BUDGET,
    firmware_budget_ram: int = board.FIRMWARE_RAM_BUDGET,
    arena_margin: str | int | None = None,
    run_litert: bool = True,
) -> dict:
    """Inspect a .tflite (path or bytes) and return the report dict.

    Raises UserError (ModelFormatError) only when the input is not a readable .tflite at all; every
    other finding is an entry in report["problems"], and report["ok"] is False when any is an error.
    """
    data, name = load_bytes(model)
    try:
        m = parse_model(data)
    except ModelFormatError as exc:
        raise ModelFormatError(f"{name}: {exc}") from None
    board.check_budget("--firmware-budget-flash", firmware_budget_flash, board.FLASH_BYTES)
    board.check_budget("--firmware-budget-ram", firmware_budget_ram, board.RAM_BYTES)
    board.parse_margin(arena_margin)
    sg = m.subgraphs[0]
    ops = Counter(m.op_name(op) for s in m.subgraphs for op in s.operators)
    outputs = [sg.tensors[i] for i in sg.outputs]
    problems = _static_problems(m, sg)
    codes = {p["code"] for p in problems}

    # Both runtimes run in child processes; asking them at the same time halves the wait.
    with ThreadPoolExecutor(max_workers=1) as pool:
        litert_job = pool.submit(litert_probe, data) if run_litert else None
        tflm = tflm_probe(data)
        litert = litert_job.result() if litert_job else None
    if not tflm.loaded:
        if "degenerate_softmax" in codes:
            p = next(p for p in problems if p["code"] == "degenerate_softmax")
            p["message"] += f" [{tflm.error}]"
        elif "unsupported_op" not in codes:
            problems.append(
                _problem(
                    "tflm_refuses",
                    "error",
                    tflm.error,
                    "TFLM cannot run this model; check its ops and quantization (e.g. an untrained model's softmax)",
                )
            )

    if litert is not None and not litert.loaded:
        qd = "quantized_dimension" in codes
        problems.append(
            _problem(
                "litert_refuses",
                "warning",
                litert.error,
                "`vwwdeploy inspect --fix IN OUT` repairs this metadata (the board's TFLM does not mind it)"
                if qd
                else "host tools that use LiteRT (evaluate, simulated board) cannot run this model",
            )
        )

    arena = None
    if tflm.arena_used is not None:
        margin, size = board.arena_size(tflm.arena_used, arena_margin)
        arena = {
            "measured_bytes": tflm.arena_used,
            "margin_bytes": margin,
            "size_bytes": size,
            "measured_with": "tflite-micro runtime (reference kernels) on the host; see docs/model-tools.md",
        }
    flash_avail = board.FLASH_BYTES - firmware_budget_flash
    ram_avail = board.RAM_BYTES - firmware_budget_ram
    fits_flash = len(data) <= flash_avail
    fits_ram = None if arena is None else arena["size_bytes"] <= ram_avail
    if not fits_flash:
        problems.append(
            _problem(
                "too_big_flash",
                "error",
                f"the model ({len(data):,} B) does not fit the {flash_avail:,} B of flash left for it on the "
                f"{board.BOARD_NAME} ({board.FLASH_BYTES:,} B minus a {firmware_budget_flash:,} B firmware budget)",
                "use a narrower or lower-resolution model (e.g. width 0.25, 96x96)",
            )
        )
    if fits_ram is False:
        problems.append(
            _problem(
                "too_big_ram",
                "error",
                f"the tensor arena ({arena['size_bytes']:,} B with margin) does not fit the {ram_avail:,} B of RAM "
                f"left on the {board.BOARD_NAME} "
                f"({board.RAM_BYTES:,} B minus a {firmware_budget_ram:,} B firmware budget)",
                "use a model with smaller activations (lower input resolution or width)",
            )
        )

    return {
        "path": name,
        "size_bytes": len(data),
        "sha256": hashlib.sha256(data).hexdigest(),
        "schema_version": m.version,
        "description": m.description,
        "subgraphs": len(m.subgraphs),
        "tensors": sum(len(s.tensors) for s in m.subgraphs),
        "ops": dict(sorted(ops.items())),
        "operator_count": sum(ops.values()),
        "inputs": [tensor_info(sg.tensors[i]) for i in sg.inputs],
        "outputs": [tensor_info(t) for t in outputs],
        "label_count": outputs[0].shape[-1] if outputs and outputs[0].shape else None,
        "parameters": parameter_count(m),
        "macs": mac_count(m),
        "arena": arena,
        "board": {
            "name": board.BOARD_NAME,
            "flash_bytes": board.FLASH_BYTES,
            "ram_bytes": board.RAM_BYTES,
            "firmware_budget_flash": firmware_budget_flash,
            "firmware_budget_ram": firmware_budget_ram,
            "flash_available": flash_avail,
            "ram_available": ram_avail,
            "flash_needed": len(data),
            "ram_needed": arena["size_bytes"] if arena else None,
            "fits": bool(fits_flash and fits_ram) if fits_ram is not None else None,
        },
        "loads": {
            "tflm": tflm.loaded,
            "tflm_error": tflm.error,
            "litert": None if litert is None else litert.loaded,
            "litert_error": None if litert is None else litert.error,
        },
        "problems": problems,
        "ok": not any(p["severity"] == "error" for p in problems),
    }


def _fmt_tensor(t: dict) -> str:
    q = "" if t["scale"] is None else f"  scale {t['scale']:.9g} zero point {t['zero_point']}"
    if t["per_channel"]:
        q = "  per-channel"
    return f"{t['name'] or '?'}  {t['dtype']}{t['shape']}{q}"


def format_report(r: dict) -> str:
    """The human-readable form of a report."""
    b = r["board"]
    lines = [
        f"model        {r['path']}",
        f"size         {r['size_bytes']:,} B flatbuffer (schema v{r['schema_version']}), sha256 {r['sha256']}",
        "ops          " + ", ".join(f"{k} x{v}" for k, v in r["ops"].items()),
        f"parameters   {r['parameters']:,}",
        f"MACs         {r['macs']:,}",
    ]
    lines += [f"input        {_fmt_tensor(t)}" for t in r["inputs"]]
    lines += [f"output       {_fmt_tensor(t)}" for t in r["outputs"]]
    lines.append(f"labels       {r['label_count']}")
    a = r["arena"]
    lines.append(
        f"arena        {a['measured_bytes']:,} B measured (TFLM, host) + {a['margin_bytes']:,} B margin = "
        f"{a['size_bytes']:,} B"
        if a
        else "arena        not measured (TFLM could not load the model)"
    )
    fit = {True: "fits", False: "DOES NOT FIT", None: "unknown"}[b["fits"]]
    lines.append(
        f"board        {b['name']}: {fit} - flash {b['flash_needed']:,} of {b['flash_available']:,} B, RAM "
        f"{'unknown' if b['ram_needed'] is None else format(b['ram_needed'], ',')} of {b['ram_available']:,} B "
        f"(after firmware budgets {b['firmware_budget_flash']:,} B flash, {b['firmware_budget_ram']:,} B RAM)"
    )
    ld = r["loads"]
    yn = {True: "yes", False: "no", None: "not checked"}
    lines.append(f"loads        TFLM: {yn[ld['tflm']]}, LiteRT: {yn[ld['litert']]}")
    if not r["problems"]:
        lines.append("problems     none")
    for p in r["problems"]:
        lines.append(f"{p['severity']:<12} {p['message']}")
        lines.append(f"{'':<12}   fix: {p['hint']}")
    return "\n".join(lines)
