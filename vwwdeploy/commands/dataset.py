"""Get COCO 2014 and turn it into a Visual Wake Words dataset.

`dataset download` fetches the COCO 2014 train/val images and annotations (resumable, size-checked).
`dataset build` labels every image with the official VWW rule (positive when an annotation of the category has a
COCO area above 0.5% of the image) and stores the images pre-decoded, SxS uint8, sharded .npy, for training."""

from __future__ import annotations

import argparse
from pathlib import Path

DEFAULT_BASE_URL = "http://images.cocodataset.org"


class _Formatter(argparse.ArgumentDefaultsHelpFormatter):
    """Show defaults, but not the meaningless "(default: None)" of required or computed options."""

    def _get_help_string(self, action):
        if action.default is None or action.default is False:
            return action.help
        return super()._get_help_string(action)


def configure(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="dataset_command", metavar="<action>", required=True)
    fmt = _Formatter

    dl = sub.add_parser(
        "download",
        help="download COCO 2014 images and annotations",
        formatter_class=fmt,
        description="Download COCO 2014 (train2014.zip, val2014.zip, annotations_trainval2014.zip) "
        "into OUT, resuming partial downloads, checking sizes, and unzipping into "
        "OUT/train2014, OUT/val2014, OUT/annotations.",
    )
    dl.add_argument("--out", type=Path, default=Path("coco2014"), help="download folder")
    dl.add_argument(
        "--base-url",
        default=DEFAULT_BASE_URL,
        help="server holding zips/<name>.zip and annotations/<name>.zip (a mirror)",
    )
    dl.add_argument(
        "--split",
        choices=["train", "val", "all"],
        default="all",
        help="which image archives to fetch (annotations always)",
    )
    dl.add_argument("--keep-zips", action="store_true", help="keep the .zip files after unpacking")
    dl.add_argument("--retries", type=int, default=5, help="reconnects (resuming) after a dropped connection")
    dl.set_defaults(_action="download")

    b = sub.add_parser(
        "build",
        help="build a VWW split (or train+val) from COCO annotations and images",
        formatter_class=fmt,
        description="Build one split with --annotations/--images, or train and val from a "
        "`dataset download` folder with --coco-dir. Writes labels.csv (image_id,file,label), "
        "dataset.json and images/shard-*.npy; atomically (a failed build leaves nothing).",
    )
    src = b.add_mutually_exclusive_group()
    src.add_argument("--annotations", type=Path, help="COCO instances JSON of one split")
    src.add_argument("--coco-dir", type=Path, help="`dataset download` folder: builds OUT/train and OUT/val")
    b.add_argument(
        "--folders",
        type=Path,
        action="append",
        metavar="DIR",
        help="your pictures, one sub-folder per class (person/notperson map to the VWW labels); repeatable; "
        "builds OUT/train and OUT/val",
    )
    b.add_argument(
        "--csv", type=Path, action="append", metavar="FILE", help="`file,label` CSV (label 0/1 = notperson/person)"
    )
    b.add_argument(
        "--classes",
        metavar="A,B,...",
        help="with --folders/--csv: the classes to build, in index order (default notperson,person); "
        "folder names and CSV labels (a name or its index) must be among them",
    )
    b.add_argument("--val-fraction", type=float, default=0.2, help="with --folders/--csv: share of each class in val")
    b.add_argument("--seed", type=int, default=0, help="with --folders/--csv: seed of the train/val split")
    b.add_argument(
        "--camera-like",
        type=int,
        default=None,
        metavar="SEED",
        help="store camera-like pictures (low light, noise, blur, gamma, vignetting), seeded; see docs/training.md",
    )
    b.add_argument("--images", type=Path, help="image folder of that split (with --annotations)")
    b.add_argument("--out", type=Path, required=True, help="output folder (replaced if it is a previous build)")
    b.add_argument(
        "--category",
        action="append",
        metavar="NAME",
        help="COCO category name of the positive class; repeat for several (default: person)",
    )
    b.add_argument(
        "--small-object-area-threshold",
        type=float,
        default=0.005,
        help="positive only when an annotation's area exceeds this fraction of the image area",
    )
    b.add_argument("--size", type=int, default=128, help="stored image size S (SxS, above 96 for crop augmentation)")
    b.add_argument("--rgb", action="store_true", help="store RGB instead of grayscale")
    b.add_argument("--workers", type=int, default=None, help="decoding processes (default: all cores)")
    b.add_argument("--split-name", default=None, help="split name in dataset.json (default: from the JSON name)")
    b.add_argument("--shard-size", type=int, default=4096, help="images per .npy shard")
    b.set_defaults(_action="build")

    mv = sub.add_parser(
        "mlperf-vww",
        help="write an MLPerf Tiny VWW accuracy set (y_labels.csv + 96x96x3 .bin) for `vwwdeploy mlperf`",
        formatter_class=fmt,
        description="From COCO annotations + images by the MLPerf Tiny rule (person: a non-crowd person box over "
        "2.5% of the image; no person: no person annotation; others left out), or from a `dataset build --rgb` "
        "split with its own labels; images resized to 96x96 without keeping the aspect ratio; balanced, seeded.",
    )
    mv_src = mv.add_mutually_exclusive_group(required=True)
    mv_src.add_argument("--annotations", type=Path, help="COCO instances JSON (with --images)")
    mv_src.add_argument("--vww", type=Path, help="a split folder of `vwwdeploy dataset build --rgb`")
    mv.add_argument("--images", type=Path, help="image folder of that JSON")
    mv.add_argument("--out", type=Path, required=True, help="output folder (replaced atomically)")
    mv.add_argument("--count", type=int, default=None, help="files, half per class (default: all a balance allows)")
    mv.add_argument("--seed", type=int, default=0, help="seed of the selection and order")
    mv.add_argument("--area-ratio", type=float, default=0.025, help="person box area over image area")
    mv.set_defaults(_action="mlperf-vww")

    i = sub.add_parser(
        "info",
        help="summarise a built dataset (splits, counts, build report)",
        formatter_class=fmt,
        description="Check that a dataset (or split) folder is complete and print its summary.",
    )
    i.add_argument("path", type=Path, help="dataset folder (train/ + val/) or one split folder")
    i.add_argument("--json", action="store_true", help="print the manifests as JSON on stdout")
    i.set_defaults(_action="info")


def run(args: argparse.Namespace) -> int:
    from vwwdeploy.errors import UserError

    if args._action == "download":
        from vwwdeploy.data.download import download_coco

        if args.retries < 0:
            raise UserError(f"--retries must be 0 or more, not {args.retries}")
        download_coco(
            args.out, base_url=args.base_url, split=args.split, keep_zips=args.keep_zips, retries=args.retries
        )
        return 0

    if args._action == "mlperf-vww":
        return _mlperf_vww(args)

    from vwwdeploy.data.build import BuildOptions, build_coco_dir, build_split, summary_line
    from vwwdeploy.progress import say

    if args._action == "info":
        return _info(args.path, args.json)

    if args.size < 16 or args.size > 1024:
        raise UserError(f"--size must be between 16 and 1024, not {args.size}")
    if args.workers is not None and args.workers < 1:
        raise UserError(f"--workers must be at least 1, not {args.workers}")
    if args.shard_size < 1:
        raise UserError(f"--shard-size must be at least 1, not {args.shard_size}")
    if args.folders or args.csv:
        if args.annotations is not None or args.coco_dir is not None:
            raise UserError(
                "--folders/--csv build their own train/val split; use them without --annotations/--coco-dir"
            )
        from vwwdeploy.data.folders import VWW_CLASSES, FolderOptions, build_from_sources, parse_classes
        from vwwdeploy.data.folders import summary_line as folder_summary

        folder_options = FolderOptions(
            classes=parse_classes(args.classes) if args.classes else tuple(VWW_CLASSES),
            size=args.size,
            rgb=args.rgb,
            val_fraction=args.val_fraction,
            seed=args.seed,
            workers=args.workers,
            shard_size=args.shard_size,
            camera_like_seed=args.camera_like,
        )
        for manifest in build_from_sources(args.out, args.folders or [], args.csv or [], folder_options).values():
            say(folder_summary(manifest))
        say(f"dataset written to {args.out}")
        return 0
    if args.classes:
        raise UserError("--classes applies to --folders/--csv builds (a COCO build's classes come from --category)")
    if args.annotations is None and args.coco_dir is None:
        raise UserError("give a source: --coco-dir, --annotations with --images, or --folders / --csv")
    options = BuildOptions(
        categories=tuple(args.category or ["person"]),
        threshold=args.small_object_area_threshold,
        size=args.size,
        rgb=args.rgb,
        workers=args.workers,
        shard_size=args.shard_size,
        camera_like_seed=args.camera_like,
    )
    if args.coco_dir is not None:
        if args.images is not None:
            raise UserError("--images goes with --annotations, not with --coco-dir")
        manifests = build_coco_dir(args.coco_dir, args.out, options)
        for manifest in manifests.values():
            say(summary_line(manifest))
    else:
        if args.images is None:
            raise UserError("--annotations needs --images (the folder holding that split's images)")
        manifest = build_split(args.annotations, args.images, args.out, options, split=args.split_name)
        say(summary_line(manifest))
    say(f"dataset written to {args.out}")
    return 0


def _info(path: Path, as_json: bool) -> int:
    import json

    from vwwdeploy.data.build import summary_line
    from vwwdeploy.data.store import is_split, open_split
    from vwwdeploy.errors import UserError

    if is_split(path):
        folders = [path]
    else:
        folders = [path / name for name in ("train", "val") if (path / name).is_dir()]
        if not folders:
            raise UserError(f"{path} is neither a dataset split nor a dataset folder with train/ or val/")
    manifests = {}
    for folder in folders:
        split = open_split(folder)  # raises a one-line error unless complete
        manifests[str(folder)] = split.manifest
        if not as_json:
            print(
                f"{folder}: {summary_line(split.manifest)}; {split.size}x{split.size}x{split.channels}, "
                f"labels {split.label_names}"
            )
    if as_json:
        print(json.dumps(manifests, indent=2))
    return 0


def _mlperf_vww(args: argparse.Namespace) -> int:
    from vwwdeploy.apps.mlperf import dataset as ds
    from vwwdeploy.atomic import check_writable_dir
    from vwwdeploy.errors import UserError
    from vwwdeploy.progress import say, track

    if args.count is not None and (args.count < 2 or args.count % 2):
        raise UserError(f"--count must be an even number of 2 or more (half per class), not {args.count}")
    if not 0 < args.area_ratio < 1:
        raise UserError(f"--area-ratio is a fraction of the image in (0, 1), not {args.area_ratio}")
    check_writable_dir(args.out)

    def bar(items):
        return track(items, "writing 96x96x3 files")

    if args.annotations is not None:
        if args.images is None:
            raise UserError("--annotations needs --images (the folder holding its images)")
        pos, neg = ds.from_coco(args.annotations, args.images, args.out, args.count, args.seed, args.area_ratio, bar)
    else:
        if args.images is not None:
            raise UserError("--images goes with --annotations, not with --vww")
        pos, neg = ds.from_vww_split(args.vww, args.out, args.count, args.seed, bar)
    say(f"{pos + neg} files ({pos} person, {neg} no person) and y_labels.csv written to {args.out}")
    return 0
