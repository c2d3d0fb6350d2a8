"""Model tools: what our checked flatbuffer reader costs, measured side by side with the alternatives.

    python3 bench/bench_model_tools.py [--markdown]

1. In-process parse of the upstream model: vwwdeploy's bounds-checked reader vs the generated
   schema's object API (`ModelT.InitFromPackedBuf`, what TF's flatbuffer_utils.read_model uses).
2. Cold start, parse in a fresh interpreter: our reader vs TensorFlow's flatbuffer_utils (imports TF).
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
MODEL = REPO.parent / "shared" / "data" / "tflm_person_detection" / "person_detect.tflite"


def best(fn, repeat: int = 3) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def cold(code: str) -> float:
    return best(lambda: subprocess.run([sys.executable, "-c", code], check=True, cwd=REPO, capture_output=True))


def main() -> None:
    sys.path.insert(0, str(REPO))
    from ai_edge_litert import schema_py_generated as schema

    from vwwdeploy.model.schema import parse_model

    data = MODEL.read_bytes()
    ours = best(lambda: parse_model(data))
    generated = best(lambda: schema.ModelT.InitFromPackedBuf(bytearray(data), 0))
    ours_cold = cold(f"from vwwdeploy.model.schema import read_model; read_model({str(MODEL)!r})")
    tf_cold = cold(f"from tensorflow.lite.tools import flatbuffer_utils as f; f.read_model({str(MODEL)!r})")
    rows = [
        ("parse upstream model in-process, ours vs generated object API", ours, generated),
        ("cold start + parse, ours vs TF flatbuffer_utils", ours_cold, tf_cold),
    ]
    markdown = "--markdown" in sys.argv
    if markdown:
        print("| measurement | ours | other | other / ours |\n|---|---|---|---|")
    for name, a, b in rows:
        if markdown:
            print(f"| {name} | {a * 1e3:.1f} ms | {b * 1e3:.1f} ms | {b / a:.2f}x |")
        else:
            print(f"{name}: {a * 1e3:.1f} ms vs {b * 1e3:.1f} ms ({b / a:.2f}x)")


if __name__ == "__main__":
    main()
