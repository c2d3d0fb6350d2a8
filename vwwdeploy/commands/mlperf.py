"""Run the MLPerf Tiny benchmark against any board that speaks its device-under-test protocol (ours under
`firmware build --app mlperf`, `vwwdeploy sim --mlperf`, or another vendor's). performance: 5 windows of
`infer 20 5` on downloaded inputs, throughput per window from the board's two m-lap-us timestamps, the
median of the 5 (the run must last 10 s); accuracy: `infer 1 0` on every file of an accuracy set
(y_labels.csv + 96x96x3 u8 .bin files), top-1 and ROC AUC. Writes report.json and report.html into --report."""

from __future__ import annotations

import argparse
from pathlib import Path


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--port", required=True, metavar="URL", help="/dev/ttyACM0, socket://HOST:PORT or a pty path")
    parser.add_argument("--mode", choices=["performance", "accuracy"], required=True, help="which MLPerf Tiny run")
    parser.add_argument(
        "--data", type=Path, required=True, help="accuracy-set folder: y_labels.csv (file,classes,label) + .bin files"
    )
    parser.add_argument("--report", type=Path, required=True, help="report folder to write (replaced atomically)")
    parser.add_argument("--limit", type=int, default=None, help="accuracy: use only the first N files")
    parser.add_argument("--baud", type=int, default=115200, help="serial line rate (MLPerf Tiny: 115200)")
    parser.add_argument("--timeout", type=float, default=5.0, help="seconds a board may take to start answering")
    parser.add_argument(
        "--infer-timeout",
        type=float,
        default=600.0,
        help="seconds allowed for the first inference; later ones get 3x the measured time",
    )
    parser.add_argument("--retries", type=int, default=3, help="retries of a failed download+infer step")
    parser.add_argument(
        "--chunk-bytes",
        type=int,
        default=31,
        help="bytes per `db` command: 31 as the official runner (the reference DUT keeps 80 characters, at most "
        "38 bytes); vwwdeploy's firmware takes up to 254",
    )
    parser.add_argument(
        "--iterations", type=int, default=None, help="performance: inferences per window (default: the test's, 20)"
    )


def run(args: argparse.Namespace) -> int:
    from vwwdeploy.apps.mlperf.dataset import read_accuracy_set
    from vwwdeploy.apps.mlperf.report import build_report, write_report
    from vwwdeploy.apps.mlperf.runner import TESTS, Runner, RunSettings
    from vwwdeploy.atomic import check_writable_dir
    from vwwdeploy.errors import UserError
    from vwwdeploy.link import mlperf_protocol as p
    from vwwdeploy.link.mlperf_dut import MlperfLink
    from vwwdeploy.progress import progress_bar, say

    for name in ("timeout", "infer_timeout"):
        if getattr(args, name) <= 0:
            raise UserError(f"--{name.replace('_', '-')} must be a positive number of seconds")
    if args.retries < 0 or (args.limit is not None and args.limit < 1) or args.baud <= 0:
        raise UserError("--retries must be 0 or more, --limit 1 or more, --baud positive")
    if not 1 <= args.chunk_bytes <= p.MAX_CHUNK_BYTES:
        raise UserError(f"--chunk-bytes must be 1..{p.MAX_CHUNK_BYTES}")
    if args.iterations is not None and args.iterations < 1:
        raise UserError("--iterations must be 1 or more")
    check_writable_dir(args.report)
    files = read_accuracy_set(args.data)
    if args.limit:
        files = files[: args.limit]
    settings = RunSettings(
        timeout=args.timeout,
        infer_timeout=args.infer_timeout,
        retries=args.retries,
        chunk=args.chunk_bytes,
        iterations=args.iterations,
        min_seconds=p.MIN_PERF_SECONDS,
    )
    with MlperfLink(args.port, args.baud, args.timeout) as link, progress_bar() as bar:
        runner = Runner(link, settings)
        dut = runner.identify()
        model = dut["model"]
        expected = TESTS.get(model, (0, 0, None))[2]
        if expected is not None:
            files = read_accuracy_set(args.data, expected)[: args.limit or None]
        say(f"board {dut['name']!r}, model {model}, profile {dut.get('profile')!r}; {len(files)} files")
        total = settings.windows if args.mode == "performance" else len(files)
        task = bar.add_task(f"{args.mode} ({model})", total=total)
        runner.progress = lambda: bar.advance(task)
        if args.mode == "performance":
            performance, accuracy = runner.performance(files, model), None
        else:
            performance, accuracy = None, runner.accuracy(files, model)
    s = runner.settings
    report = build_report(
        mode=args.mode,
        url=args.port,
        dut=dut,
        data_dir=args.data,
        files=files,
        settings={
            "iterations": s.iterations or TESTS[model][0],
            "warmups": TESTS[model][1] if s.warmups is None else s.warmups,
            "windows": s.windows,
            "chunk_bytes": s.chunk,
            "baud": args.baud,
            "timeout_s": s.timeout,
            "infer_timeout_s": s.infer_timeout,
            "retries": s.retries,
            "min_seconds": s.min_seconds,
        },
        link_stats=link.stats,
        retried_steps=runner.retried_steps,
        performance=performance,
        accuracy=accuracy,
    )
    write_report(args.report, report)
    if performance:
        for i, w in enumerate(performance["windows"], 1):
            print(
                f"window {i}: {w['iterations']} inferences in {w['elapsed_us'] / 1e6:.3f} s, "
                f"{w['throughput']:.3f} inf/s"
            )
        if performance["median_throughput"]:
            print(
                f"median throughput {performance['median_throughput']:.3f} inf/s, "
                f"latency {performance['latency_ms']:.2f} ms per inference"
            )
    if accuracy:
        auc = "n/a" if accuracy["auc"] is None else f"{accuracy['auc']:.3f}"
        print(f"top-1 {100 * accuracy['top1']:.2f}%, AUC {auc} on {accuracy['count']} files")
    print(f"report: {args.report / 'report.html'}")
    if report["errors"]:
        hint = " (raise --iterations)" if any("minimum" in e for e in report["errors"]) else ""
        raise UserError("not a valid MLPerf Tiny run: " + "; ".join(report["errors"]) + hint)
    return 0
