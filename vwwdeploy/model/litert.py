"""Opening a model in LiteRT: one loader, and one answer to the bias `quantized_dimension` problem.

The upstream person detector gives its 1-D bias tensors quantized_dimension 3. TFLM ignores the field; LiteRT
refuses the model. Whatever runs a model in LiteRT (evaluate, export's accuracy, import's layer reference,
validate) therefore loads a copy with those fields set to 0, in memory, and says so. `patch_quantized_dimensions`
only touches tensors where 0 is the one dimension their scales can mean, so the copy computes what TFLM computes;
`vwwdeploy inspect` keeps reporting the file as it is, and `inspect --fix` writes the copy after proving it.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Any

from vwwdeploy.errors import UserError
from vwwdeploy.model.schema import Model, Tensor, parse_model

# "builtin": LiteRT's optimised kernels without the XNNPACK delegate (the op list stays the model's own);
# "reference": its reference kernels; "default": what a user's plain Interpreter() gets (XNNPACK included).
RESOLVERS = ("builtin", "reference", "default")


@dataclass
class Loaded:
    interpreter: Any
    repaired: str | None  # what was changed in memory so LiteRT would load it; None when it loaded as is


def open_interpreter(data: bytes, resolver: str = "builtin", keep_tensors: bool = False, threads: int | None = None):
    """The model's bytes as an allocated LiteRT interpreter, exactly as given (no repair)."""
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    kinds = {
        "builtin": OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES,
        "reference": OpResolverType.BUILTIN_REF,
        "default": OpResolverType.AUTO,
    }
    interpreter = Interpreter(
        model_content=bytes(data),
        experimental_op_resolver_type=kinds[resolver],
        experimental_preserve_all_tensors=keep_tensors,
        num_threads=threads,
    )
    interpreter.allocate_tensors()
    return interpreter


def first_sentence(exc: BaseException) -> str:
    line = " ".join(str(exc).split()) or type(exc).__name__
    # LiteRT repeats one complaint per tensor on one line; the first says what is wrong.
    for sep in (".Tensor ", ". Tensor "):
        if sep in line:
            line = line.split(sep)[0] + "."
    return line[:300]


def load(
    data: bytes,
    name: str = "the model",
    resolver: str = "builtin",
    keep_tensors: bool = False,
    threads: int | None = None,
) -> Loaded:
    """The model in LiteRT, repaired in memory when only the bias quantized_dimension stands in the way."""
    try:
        return Loaded(open_interpreter(data, resolver, keep_tensors, threads), None)
    except (ValueError, RuntimeError) as exc:
        refusal = first_sentence(exc)
    if "quantized_dimension" not in refusal:
        raise UserError(f"LiteRT cannot load {name}: {refusal} (try `vwwdeploy inspect`)")
    try:
        patched, tensors = patch_quantized_dimensions(bytes(data))
    except UserError as exc:
        raise UserError(f"LiteRT cannot load {name}: {refusal}; {exc}") from None
    try:
        interpreter = open_interpreter(patched, resolver, keep_tensors, threads)
    except (ValueError, RuntimeError) as exc:
        raise UserError(
            f"LiteRT cannot load {name} even with its quantized_dimension repaired: {first_sentence(exc)}"
        ) from None
    return Loaded(
        interpreter,
        f"LiteRT refused {name} as is ({refusal}); ran a copy with {len(tensors)} tensors' quantized_dimension set "
        "to 0, which TFLM's arithmetic ignores (`vwwdeploy inspect --fix IN OUT` writes it)",
    )


def patch_quantized_dimensions(data: bytes) -> tuple[bytes, list[str]]:
    """(patched bytes, names of the tensors changed). Raises UserError for defects 0 cannot repair."""
    model = parse_model(data)
    defects = quantized_dimension_defects(model)
    unfixable = [t for _, t, ok in defects if not ok]
    if unfixable:
        t = unfixable[0]
        raise UserError(
            f"tensor {t.name!r} has {len(t.quantization.scale)} scales but shape {t.shape} and quantized_dimension "
            f"{t.quantization.quantized_dimension}; no dimension choice keeps its math, so --fix will not touch it"
        )
    out = bytearray(data)
    for _, t, _ in defects:
        struct.pack_into("<i", out, t.quantization.quantized_dimension_pos, 0)
    return bytes(out), [t.name for _, t, _ in defects]


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
