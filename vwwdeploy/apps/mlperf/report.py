"""report.json (a stable shape: every key is always present, null when it does not apply) and a
self-contained report.html (inline SVG, no scripts), as `vwwdeploy validate` writes them."""

from __future__ import annotations

import json
import time
from html import escape
from pathlib import Path

import numpy as np

from vwwdeploy.apps.validation.report_html import STYLE, html_table, svg_confusion
from vwwdeploy.atomic import atomic_dir

FORMAT = "vwwdeploy-mlperf-report"
FORMAT_VERSION = 1


def build_report(*, mode, url, dut, data_dir, files, settings, link_stats, retried_steps, performance, accuracy):
    errors = list(performance["errors"]) if performance else []
    return {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "mode": mode,
        "port": url,
        "dut": {"name": dut.get("name"), "profile": dut.get("profile"), "model": dut.get("model")},
        "data": {"dir": str(data_dir), "files": len(files), "classes": files[0].classes if files else None},
        "settings": settings,
        "link": {
            "commands": link_stats.commands,
            "timeouts": link_stats.timeouts,
            "resets": link_stats.resets,
            "error_replies": link_stats.error_replies,
            "retried_steps": retried_steps,
            "problems": link_stats.log,
        },
        "performance": performance,
        "accuracy": accuracy,
        "valid": not errors,
        "errors": errors,
    }


def roc_points(labels, scores) -> list[tuple[float, float]]:
    """(false positive rate, true positive rate) at every distinct threshold, from (0, 0) to (1, 1)."""
    y = np.asarray(labels).astype(bool)
    s = np.asarray(scores, dtype=np.float64)
    n_pos, n_neg = int(y.sum()), int((~y).sum())
    if not n_pos or not n_neg:
        return []
    pts = [(0.0, 0.0)]
    for t in np.unique(s)[::-1]:
        pred = s >= t
        pts.append((float((pred & ~y).sum() / n_neg), float((pred & y).sum() / n_pos)))
    return pts


def svg_roc(points, auc, size: int = 300) -> str:
    pad, inner = 44, size - 56
    poly = " ".join(f"{pad + x * inner:.1f},{20 + inner - y * inner:.1f}" for x, y in points)
    auc_text = "—" if auc is None else f"{auc:.3f}"
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{size}" height="{size + 10}" role="img">'
        f'<text x="{size / 2}" y="14" text-anchor="middle" font-weight="bold" font-size="13">'
        f"ROC (AUC {auc_text})</text>"
        f'<rect x="{pad}" y="20" width="{inner}" height="{inner}" fill="#fafafa" stroke="#999"/>'
        f'<line x1="{pad}" y1="{20 + inner}" x2="{pad + inner}" y2="20" stroke="#bbb" stroke-dasharray="4 3"/>'
        f'<polyline points="{poly}" fill="none" stroke="#2a6fdb" stroke-width="2"/>'
        f'<text x="{pad + inner / 2}" y="{size + 6}" text-anchor="middle" font-size="11">false positive rate</text>'
        f'<text x="11" y="{20 + inner / 2}" font-size="11" text-anchor="middle" '
        f'transform="rotate(-90 11 {20 + inner / 2})">true positive rate</text></svg>'
    )


def render_html(report: dict) -> str:
    dut = report["dut"]
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'><title>MLPerf Tiny "
        f"{escape(report['mode'])} — {escape(str(dut['name']))}</title><style>{STYLE}</style></head><body>",
        f"<h1>MLPerf Tiny {escape(report['mode'])} run</h1>",
        html_table(
            ["", ""],
            [
                ["board", escape(str(dut["name"]))],
                ["model", f"<code>{escape(str(dut['model']))}</code>"],
                ["profile", escape(str(dut["profile"]))],
                ["port", f"<code>{escape(report['port'])}</code>"],
                ["data", f"<code>{escape(report['data']['dir'])}</code>, {report['data']['files']} files"],
                ["created", report["created"]],
            ],
        ),
    ]
    if report["errors"]:
        parts.append("<p class='bad'>Not a valid MLPerf Tiny run: " + escape("; ".join(report["errors"])) + "</p>")
    perf = report["performance"]
    if perf:
        lat = "—" if perf["latency_ms"] is None else f"{perf['latency_ms']:.2f} ms"
        thr = "—" if perf["median_throughput"] is None else f"{perf['median_throughput']:.3f} inf/s"
        parts.append(
            f"<h2>Performance</h2><p>median throughput <b>{thr}</b>, latency <b>{lat}</b> per inference; "
            f"run {perf['duration_s']:.1f} s</p>"
        )
        parts.append(
            html_table(
                ["window", "file", "inferences", "elapsed (µs)", "throughput (inf/s)", "results"],
                [
                    [
                        str(i + 1),
                        escape(w["file"]),
                        str(w["iterations"]),
                        str(w["elapsed_us"]),
                        f"{w['throughput']:.3f}",
                        escape(", ".join(f"{v:.3f}" for v in w["results"])),
                    ]
                    for i, w in enumerate(perf["windows"])
                ],
            )
        )
    acc = report["accuracy"]
    if acc:
        auc = "—" if acc["auc"] is None else f"{acc['auc']:.3f}"
        parts.append(
            f"<h2>Accuracy</h2><p>top-1 <b>{100 * acc['top1']:.2f}%</b>, ROC AUC <b>{auc}</b> on "
            f"{acc['count']} files (classes: {acc['class_counts']})</p>"
        )
        k = len(acc["confusion_matrix"])
        names = ["no person", "person"] if k == 2 else [f"class {i}" for i in range(k)]
        plots = [svg_confusion(acc["confusion_matrix"], names, "board")]
        if k == 2:
            labels = [r["label"] for r in acc["files"]]
            plots.append(svg_roc(roc_points(labels, [r["normalised"][1] for r in acc["files"]]), acc["auc"]))
        parts.append("<div class='plots'>" + "".join(plots) + "</div>")
        wrong = [r for r in acc["files"] if not r["correct"]]
        parts.append(f"<h3>Misclassified files ({len(wrong)})</h3>")
        parts.append(
            html_table(
                ["file", "label", "predicted", "scores"],
                [
                    [
                        escape(r["file"]),
                        str(r["label"]),
                        str(r["predicted"]),
                        escape(", ".join(f"{v:.3f}" for v in r["scores"])),
                    ]
                    for r in wrong[:200]
                ],
            )
        )
    link = report["link"]
    parts.append(
        f"<h2>Link</h2><p>{link['commands']} commands, {link['timeouts']} timeouts, {link['resets']} board "
        f"reboots, {link['error_replies']} e-[...] answers, {link['retried_steps']} steps retried</p>"
    )
    if link["problems"]:
        parts.append("<ul class='muted'>" + "".join(f"<li>{escape(x)}</li>" for x in link["problems"]) + "</ul>")
    parts.append("</body></html>")
    return "".join(parts)


def write_report(out: Path, report: dict) -> None:
    with atomic_dir(Path(out)) as tmp:
        (tmp / "report.json").write_text(json.dumps(report, indent=2) + "\n")
        (tmp / "report.html").write_text(render_html(report))
