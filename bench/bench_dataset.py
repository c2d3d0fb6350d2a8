"""Dataset benchmarks (issue 2), measured side by side in one run on this machine.

1. Build throughput: `vwwdeploy dataset build` (JPEG draft decode, all cores, store writing included) against a
   naive baseline (full-size decode, convert, resize; one process) over the same real COCO images
   (../shared/data/coco128_train2017, the 128 images listed REPEAT times so pool start-up is not the whole story).
   Target: >= 3x.
2. Label pass over a synthetic annotation JSON the size of COCO 2014 train+val (123,287 images, ~897k annotations
   with polygon segmentations, ~450 MB), generated here: parse + VWW labels. Target: < 30 s.

Usage: python3 bench/bench_dataset.py [--repeat 4] [--skip-labels] [--markdown]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from vwwdeploy.data.build import BuildOptions, build_split  # noqa: E402
from vwwdeploy.data.coco_labels import labels_from_file  # noqa: E402

COCO128 = Path(os.environ.get("VWWDEPLOY_SHARED_DATA", REPO.parent / "shared" / "data")) / "coco128_train2017"
N_IMAGES, N_ANNOTATIONS = 123_287, 896_782  # COCO 2014 train + val


def naive_decode(paths: list[str], size: int) -> np.ndarray:
    return np.stack(
        [np.asarray(Image.open(p).convert("L").resize((size, size), Image.Resampling.BILINEAR)) for p in paths]
    )


def bench_build(repeat: int, rounds: int, size: int = 128) -> dict:
    ann = COCO128 / "annotations_coco_json" / "instances_train2017_coco128.json"
    coco = json.loads(ann.read_text())
    images = [dict(im, id=im["id"] + k * 10_000_000) for k in range(repeat) for im in coco["images"]]
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        big = tmp / "instances.json"
        big.write_text(json.dumps(dict(coco, images=images)))
        paths = [str(COCO128 / "images" / im["file_name"]) for im in images]
        naive_decode(paths[:128], size)  # warm the page cache for both contestants
        naive_t, fast_t, single_t, naive_cpu, fast_cpu = [], [], [], [], []
        for r in range(rounds):  # interleaved, so background load hits both alike
            t, c = time.perf_counter(), time.process_time()
            naive_decode(paths, size)
            naive_t.append(time.perf_counter() - t)
            naive_cpu.append(time.process_time() - c)
            t, c = time.perf_counter(), time.process_time()
            m = build_split(big, COCO128 / "images", tmp / f"ds{r}", BuildOptions(size=size, quiet=True))
            fast_t.append(time.perf_counter() - t)
            # CPU of this process plus what the decode workers report (they are not our direct children).
            fast_cpu.append(time.process_time() - c + m["report"]["decode_cpu_seconds"])
            t = time.perf_counter()
            build_split(big, COCO128 / "images", tmp / f"one{r}", BuildOptions(size=size, workers=1, quiet=True))
            single_t.append(time.perf_counter() - t)
    n = len(paths)
    naive, fast, single = (statistics.median(x) for x in (naive_t, fast_t, single_t))
    return {
        "images": n,
        "cores": os.cpu_count(),
        "naive_img_s": n / naive,
        "build_img_s": n / fast,
        "build_1proc_img_s": n / single,
        "ratio": naive / fast,
        "ratio_1proc": naive / single,
        "cpu_ms_per_img_naive": 1000 * statistics.median(naive_cpu) / n,
        "cpu_ms_per_img_build": 1000 * statistics.median(fast_cpu) / n,
        "load_avg_1min": os.getloadavg()[0],
    }


def write_synthetic_annotations(path: Path, seed: int = 0) -> None:
    """COCO-2014-sized instances JSON: realistic fields, polygon segmentations of 6-40 points, 80 categories."""
    rng = np.random.default_rng(seed)
    per_image = rng.multinomial(N_ANNOTATIONS, np.full(N_IMAGES, 1 / N_IMAGES))
    with open(path, "w") as fh:
        fh.write('{"info": {"description": "benchmark: synthetic COCO-2014-sized annotations", "synthetic": true},')
        fh.write('"licenses": [], "categories": [')
        fh.write(
            ",".join(
                json.dumps({"supercategory": "thing", "id": i, "name": "person" if i == 1 else f"cat{i}"})
                for i in range(1, 81)
            )
        )
        fh.write('], "images": [')
        widths = rng.choice([640, 480, 500, 427], N_IMAGES)
        heights = rng.choice([480, 640, 375, 427], N_IMAGES)
        fh.write(
            ",".join(
                f'{{"license": 3, "file_name": "COCO_train2014_{i:012d}.jpg", '
                f'"coco_url": "http://images.cocodataset.org/train2014/COCO_train2014_{i:012d}.jpg", '
                f'"height": {heights[i]}, "width": {widths[i]}, "date_captured": "2013-11-14 16:28:13", '
                f'"flickr_url": "http://farm3.staticflickr.com/2/{i}_z.jpg", "id": {i}}}'
                for i in range(N_IMAGES)
            )
        )
        fh.write('], "annotations": [')
        ann_id, first = 0, True
        image_of = np.repeat(np.arange(N_IMAGES), per_image)
        for lo in range(0, N_ANNOTATIONS, 50_000):
            hi = min(lo + 50_000, N_ANNOTATIONS)
            cats = np.where(rng.random(hi - lo) < 0.3, 1, rng.integers(2, 81, hi - lo))
            areas = rng.lognormal(8, 1.8, hi - lo)
            npts = rng.integers(6, 41, hi - lo)
            coords = rng.uniform(0, 640, (hi - lo, 80)).round(2)
            parts = []
            for k in range(hi - lo):
                img = image_of[lo + k]
                poly = ",".join(map(str, coords[k, : 2 * npts[k]]))
                x, y = coords[k, 0], coords[k, 1]
                parts.append(
                    f'{{"segmentation": [[{poly}]], "area": {areas[k]:.4f}, "iscrowd": 0, "image_id": {img}, '
                    f'"bbox": [{x}, {y}, 51.3, 77.9], "category_id": {cats[k]}, "id": {ann_id}}}'
                )
                ann_id += 1
            fh.write(("" if first else ",") + ",".join(parts))
            first = False
        fh.write("]}")


def bench_labels(regenerate: bool) -> dict:
    import vwwdeploy.data.coco_labels as cl
    from vwwdeploy.paths import cache_dir

    # Generated once (about a minute) and kept in the cache: it is ~450 MB.
    path = cache_dir() / "bench" / "instances_coco2014_sized_v1.json"
    gen = 0.0
    if regenerate or not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        t = time.perf_counter()
        write_synthetic_annotations(path.with_suffix(".tmp"))
        path.with_suffix(".tmp").rename(path)
        gen = time.perf_counter() - t
    size_mb = path.stat().st_size / 1e6

    def timed():
        t, c = time.perf_counter(), time.process_time()
        labels = labels_from_file(path)
        return labels, time.perf_counter() - t, time.process_time() - c

    labels, wall, cpu = timed()
    result = {
        "images": len(labels),
        "annotations": N_ANNOTATIONS,
        "json_mb": size_mb,
        "generate_s": gen,
        "label_pass_s": wall,
        "label_pass_cpu_s": cpu,
        "positives": labels.positives,
        "parser": "orjson" if cl._fast_json is not None else "json",
    }
    # Side by side: a plain full parse of the same file (what a naive label pass starts with).
    t, c = time.perf_counter(), time.process_time()
    raw = path.read_bytes()
    (cl._fast_json.loads if cl._fast_json is not None else json.loads)(raw)
    result["full_parse_only_s"], result["full_parse_only_cpu_s"] = time.perf_counter() - t, time.process_time() - c
    del raw
    if cl._fast_json is not None:  # the stdlib fallback, for when orjson is not installed
        saved, cl._fast_json = cl._fast_json, None
        try:
            _, result["label_pass_stdlib_json_s"], result["label_pass_stdlib_json_cpu_s"] = timed()
        finally:
            cl._fast_json = saved
    result["load_avg_1min"] = os.getloadavg()[0]
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=4, help="times the 128 coco128 images are listed")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds; medians are reported")
    parser.add_argument("--skip-labels", action="store_true")
    parser.add_argument("--regenerate", action="store_true", help="redraw the cached COCO-sized annotation JSON")
    parser.add_argument("--markdown", action="store_true", help="print a section for docs/benchmarks.md")
    args = parser.parse_args()
    if not COCO128.exists():
        print(f"needs {COCO128}", file=sys.stderr)
        return 2
    b = bench_build(args.repeat, args.rounds)
    print(json.dumps({"build": b}, indent=2))
    lab = None if args.skip_labels else bench_labels(args.regenerate)
    if lab:
        print(json.dumps({"labels": lab}, indent=2))
    if args.markdown:
        print(f"\n## Dataset build and label pass (bench/bench_dataset.py, {time.strftime('%Y-%m-%d')})\n")
        print(
            f"Machine: {b['cores']} cores, shared with other jobs during the run; medians of {args.rounds} "
            "interleaved rounds.\n"
        )
        print("| measurement | value | target |\n|---|---|---|")
        print(f"| naive: full-size decode + resize, 1 process | {b['naive_img_s']:.0f} img/s | |")
        print(
            f"| `dataset build` (draft decode, {b['cores']} processes, store written) "
            f"| {b['build_img_s']:.0f} img/s | |"
        )
        print(
            f"| **build / naive** ({b['images']} decodes of the coco128 JPEGs, 128x128 gray) "
            f"| **{b['ratio']:.2f}x** | >= 3x |"
        )
        print(f"| build with `--workers 1` / naive (draft decode alone) | {b['ratio_1proc']:.2f}x | |")
        print(
            f"| CPU per image: naive / build (all processes) | {b['cpu_ms_per_img_naive']:.2f} / "
            f"{b['cpu_ms_per_img_build']:.2f} ms = {b['cpu_ms_per_img_naive'] / b['cpu_ms_per_img_build']:.2f}x | |"
        )
        print(
            f"| 1-minute load average at the end (other jobs on the {b['cores']} cores) | {b['load_avg_1min']:.1f} | |"
        )
        projected = b["cpu_ms_per_img_naive"] / (b["cpu_ms_per_img_build"] / b["cores"])
        print(
            f"| projection, not a measurement: CPU ratio x {b['cores']} cores if they were idle | {projected:.2f}x | |"
        )
        if lab:
            print(
                f"| label pass, COCO-2014-sized JSON ({lab['images']:,} images, {lab['annotations']:,} annotations, "
                f"{lab['json_mb']:.0f} MB), parse + labels, {lab['parser']} | **{lab['label_pass_s']:.1f} s** "
                f"(CPU {lab['label_pass_cpu_s']:.1f} s) | < 30 s |"
            )
            print(
                f"| for comparison: a plain full `{lab['parser']}` parse of that file, no labels | "
                f"{lab['full_parse_only_s']:.1f} s (CPU {lab['full_parse_only_cpu_s']:.1f} s) | |"
            )
            if "label_pass_stdlib_json_s" in lab:
                print(
                    f"| label pass with the stdlib `json` fallback | {lab['label_pass_stdlib_json_s']:.1f} s "
                    f"(CPU {lab['label_pass_stdlib_json_cpu_s']:.1f} s) | |"
                )
            print(f"| 1-minute load average after the label pass | {lab['load_avg_1min']:.1f} | |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
