"""Build a VWW split (or a train+val dataset) from COCO instances JSON + image folder into the store format.

Everything that can be checked before decoding is checked first (JSON, categories, image folder, output folder),
so bad input fails with one line and writes nothing. Decoding runs over all cores in chunks; images that are
missing or unreadable are skipped and counted, never fatal. Output goes into a hidden sibling folder that is
renamed into place only when the whole build succeeded.
"""

from __future__ import annotations

import os
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from vwwdeploy.atomic import atomic_dir
from vwwdeploy.data import decode
from vwwdeploy.data.builder_steps import check_output, start_pool
from vwwdeploy.data.coco_labels import DEFAULT_THRESHOLD, CocoLabels, labels_from_file
from vwwdeploy.data.store import DEFAULT_SHARD_SIZE, SplitWriter
from vwwdeploy.errors import UserError

DEFAULT_SIZE = 128
CHUNK = 32  # images per worker task: big enough to amortise pickling, small enough to keep cores busy
EXAMPLES_PER_REASON = 10

# The layout `vwwdeploy dataset download` produces (and make_synthetic_coco imitates).
COCO_SPLITS = {
    "train": ("annotations/instances_train2014.json", "train2014"),
    "val": ("annotations/instances_val2014.json", "val2014"),
}


@dataclass
class BuildOptions:
    categories: Sequence[str] = ("person",)
    threshold: float = DEFAULT_THRESHOLD
    size: int = DEFAULT_SIZE
    rgb: bool = False
    workers: int | None = None
    shard_size: int = DEFAULT_SHARD_SIZE
    quiet: bool = False
    camera_like_seed: int | None = None


class _CameraLikeWriter(SplitWriter):
    """Stores the camera-like view of each picture; picture i of the split is seeded (seed, i)."""

    def __init__(self, *args, seed: int, **kwargs):
        super().__init__(*args, **kwargs)
        self.seed = seed

    def add(self, images, rows) -> None:
        from vwwdeploy.data.camera_like import camera_like

        if len(rows):
            images = camera_like(images, self.seed, first_index=len(self.rows))
        super().add(images, rows)


@dataclass
class _PlannedSplit:
    name: str
    annotations: Path
    images_arg: str
    labels: CocoLabels
    files: list[str]


def guess_split_name(annotations: Path) -> str:
    stem = Path(annotations).stem.lower()
    if "train" in stem:
        return "train"
    if "val" in stem:
        return "val"
    return "test" if "test" in stem else stem


def plan_split(name: str, annotations: Path, images: str | Path, options: BuildOptions) -> _PlannedSplit:
    """Parse and label one split and check its image folder; raises UserError before anything is written."""
    images_arg = str(images)
    if not Path(images_arg).is_dir():
        raise UserError(f"images folder {images_arg} not found")
    labels = labels_from_file(annotations, options.categories, options.threshold)
    files = [os.path.join(images_arg, f) for f in labels.file_names]
    if not any(os.path.exists(f) for f in files):
        raise UserError(
            f"none of the {len(files)} images listed in {annotations} is in {images_arg} (wrong --images folder?)"
        )
    return _PlannedSplit(name, Path(annotations), images_arg, labels, files)


def _decode_all(plan: _PlannedSplit, options: BuildOptions, writer: SplitWriter) -> dict:
    from vwwdeploy.progress import progress_bar

    labels = plan.labels
    n = len(plan.files)
    tasks = [
        ([(row, plan.files[row]) for row in range(start, min(start + CHUNK, n))], options.size, options.rgb)
        for start in range(0, n, CHUNK)
    ]
    workers = max(1, min(options.workers or os.cpu_count() or 1, len(tasks)))
    counts: Counter[str] = Counter()
    cpu = [0.0]
    examples: dict[str, list[str]] = {}

    def consume(result) -> int:
        kept_rows, stacked, outcomes, cpu_s = result
        cpu[0] += cpu_s
        for row, outcome in outcomes:
            counts[outcome] += 1
            if outcome != decode.OK:
                examples.setdefault(outcome, [])
                if len(examples[outcome]) < EXAMPLES_PER_REASON:
                    examples[outcome].append(plan.files[row])
        rows = [(str(labels.image_ids[r]), plan.files[r], int(labels.labels[r])) for r in kept_rows]
        writer.add(stacked, rows)
        return len(outcomes)

    wall0 = time.perf_counter()
    # The pool is started before the progress bar, whose refresh thread must not exist at fork time.
    pool = start_pool(workers) if workers > 1 else None
    try:
        with progress_bar(transient=options.quiet) as bar:
            task_id = bar.add_task(f"decoding {plan.name}", total=n)
            results = pool.imap(decode.decode_chunk, tasks) if pool else map(decode.decode_chunk, tasks)
            for result in results:
                bar.advance(task_id, consume(result))
    finally:
        if pool is not None:
            pool.terminate()
            pool.join()

    wall = time.perf_counter() - wall0
    skipped = {reason: counts[reason] for reason in decode.SKIPPED}
    return {
        "images_listed": n,
        "images_stored": n - sum(skipped.values()),
        **decode.outcome_report(counts),
        "examples": examples,
        "workers": workers,
        "decode_seconds": round(wall, 3),
        "decode_cpu_seconds": round(cpu[0], 3),
    }


def _write_split(plan: _PlannedSplit, options: BuildOptions, folder: Path) -> dict:
    channels = 3 if options.rgb else 1
    if options.camera_like_seed is None:
        writer = SplitWriter(folder, options.size, channels, shard_size=options.shard_size)
    else:
        writer = _CameraLikeWriter(
            folder, options.size, channels, shard_size=options.shard_size, seed=options.camera_like_seed
        )
    report = _decode_all(plan, options, writer)
    report["camera_like_seed"] = options.camera_like_seed
    if report["images_stored"] == 0:
        raise UserError(
            f"no image of {plan.annotations} could be decoded ({report['skipped_missing']} missing, "
            f"{report['skipped_corrupt']} corrupt, {report['skipped_truncated']} truncated): empty split"
        )
    return writer.finish(
        split=plan.name,
        categories=plan.labels.categories,
        synthetic=plan.labels.synthetic,
        threshold=plan.labels.threshold,
        report=report,
        extra={
            "label_rule": "positive when some annotation of the categories has COCO area > threshold x width x height",
            "resize": "whole image to size x size ignoring aspect (JPEG draft decode, then bilinear)",
            "source": {"annotations": str(plan.annotations), "images": plan.images_arg},
        },
    )


def build_split(annotations, images, out, options: BuildOptions | None = None, split: str | None = None) -> dict:
    """`dataset build --annotations --images --out`: one split folder at `out`. Returns its manifest."""
    options = options or BuildOptions()
    out = Path(out)
    check_output(out)
    plan = plan_split(split or guess_split_name(Path(annotations)), Path(annotations), images, options)
    with atomic_dir(out) as tmp:
        manifest = _write_split(plan, options, tmp)
    return manifest


def build_coco_dir(coco_dir, out, options: BuildOptions | None = None) -> dict[str, dict]:
    """`dataset build --coco-dir`: train from the train2014 annotations, val from val2014, into out/train, out/val."""
    options = options or BuildOptions()
    coco_dir, out = Path(coco_dir), Path(out)
    if not coco_dir.is_dir():
        raise UserError(f"--coco-dir {coco_dir} not found")
    check_output(out)
    plans = []
    for name, (ann_rel, img_rel) in COCO_SPLITS.items():
        ann = coco_dir / ann_rel
        if not ann.is_file():
            raise UserError(f"{ann} not found: --coco-dir must be a `vwwdeploy dataset download` folder")
        plans.append(plan_split(name, ann, str(coco_dir / img_rel), options))
    manifests = {}
    with atomic_dir(out) as tmp:
        for plan in plans:
            manifests[plan.name] = _write_split(plan, options, tmp / plan.name)
    return manifests


def summary_line(manifest: dict) -> str:
    r = manifest["report"]
    if "per_class" in r:  # built from the user's folders / CSV
        from vwwdeploy.data.folders import summary_line as folder_summary

        return folder_summary(manifest)
    names = manifest["label_names"]
    skipped = r["skipped_missing"] + r["skipped_corrupt"] + r["skipped_truncated"]
    converted = r["converted_cmyk_to_rgb"] + r["converted_16bit_to_8bit"] + r["converted_other_mode"]
    synthetic = " [SYNTHETIC]" if manifest.get("synthetic") else ""
    return (
        f"{manifest['split']}{synthetic}: {manifest['count']} images, {manifest['positives']} {names[1]} / "
        f"{manifest['count'] - manifest['positives']} {names[0]}, {skipped} skipped "
        f"({r['skipped_missing']} missing, {r['skipped_corrupt']} corrupt, {r['skipped_truncated']} truncated), "
        f"{converted} converted ({r['converted_cmyk_to_rgb']} CMYK, {r['converted_16bit_to_8bit']} 16-bit, "
        f"{r['converted_other_mode']} other modes)"
    )
