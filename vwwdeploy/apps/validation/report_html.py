"""report.html: one self-contained page (inline SVG plots drawn here, base64 PNG thumbnails; no scripts,
no CDN, nothing fetched) so it can be mailed, archived as a CI artifact or opened offline."""

from __future__ import annotations

import base64
import io
from html import escape

import numpy as np

from vwwdeploy.apps.validation import metrics

MAX_THUMBNAILS = 48
STYLE = """  # shared by every HTML report (validate, mlperf)
body{font-family:system-ui,sans-serif;margin:2em;color:#222;max-width:1100px}
table{border-collapse:collapse;margin:.5em 0 1.5em}td,th{border:1px solid #ccc;padding:.25em .6em;text-align:right}
th{background:#f3f3f3}td.l,th.l{text-align:left}.bad{color:#b00;font-weight:bold}.ok{color:#070;font-weight:bold}
.plots{display:flex;flex-wrap:wrap;gap:1.5em}.thumbs{display:flex;flex-wrap:wrap;gap:.8em}
figure{margin:0;font-size:.75em;width:150px}figure img{width:144px;height:144px;image-rendering:pixelated}
code{font-size:.9em}.muted{color:#777}
"""


def _fmt(v, digits: int = 4) -> str:
    if v is None:
        return "—"
    if isinstance(v, float):
        return f"{v:.{digits}f}"
    return escape(str(v))


def _pct(v) -> str:
    return "—" if v is None else f"{100 * v:.2f}%"


def html_table(header: list[str], rows: list[list[str]], left_cols: int = 1, left_last: bool = False) -> str:
    def cell(tag, i, text):
        left = i < left_cols or (left_last and i == len(header) - 1)
        cls = ' class="l"' if left else ""
        return f"<{tag}{cls}>{text}</{tag}>"

    head = "".join(cell("th", i, escape(h)) for i, h in enumerate(header))
    body = "".join("<tr>" + "".join(cell("td", i, c) for i, c in enumerate(r)) + "</tr>" for r in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


# ------------------------------------------------------------------ SVG plots


def svg_confusion(cm: list[list[int]], label_names: list[str], title: str) -> str:
    k = len(cm)
    cell, left, top = 56, 110, 44
    w, h = left + k * cell + 10, top + k * cell + 40
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" role="img">',
        f'<text x="{w / 2}" y="16" text-anchor="middle" font-weight="bold" font-size="13">{escape(title)}</text>',
        f'<text x="{left + k * cell / 2}" y="34" text-anchor="middle" font-size="11">predicted</text>',
    ]
    for t in range(k):
        total = sum(cm[t]) or 1
        parts.append(
            f'<text x="{left - 6}" y="{top + t * cell + cell / 2 + 4}" text-anchor="end" font-size="11">'
            f"{escape(label_names[t])}</text>"
        )
        for p in range(k):
            frac = cm[t][p] / total
            shade = int(255 - 170 * frac)
            fill = f"rgb({shade},{shade},255)" if t == p else f"rgb(255,{shade},{shade})"
            x, y = left + p * cell, top + t * cell
            parts.append(
                f'<rect x="{x}" y="{y}" width="{cell}" height="{cell}" fill="{fill}" stroke="#999"/>'
                f'<text x="{x + cell / 2}" y="{y + cell / 2 + 4}" text-anchor="middle" font-size="12">{cm[t][p]}</text>'
            )
    for p in range(k):
        parts.append(
            f'<text x="{left + p * cell + cell / 2}" y="{top + k * cell + 14}" text-anchor="middle" '
            f'font-size="11">{escape(label_names[p])}</text>'
        )
    parts.append(
        f'<text x="12" y="{top + k * cell / 2}" font-size="11" transform="rotate(-90 12 {top + k * cell / 2})" '
        'text-anchor="middle">true</text></svg>'
    )
    return "".join(parts)


def svg_scatter(x: np.ndarray, y: np.ndarray, xlabel: str, ylabel: str, title: str, size: int = 300) -> str:
    pad = 44
    inner = size - pad - 12
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{size}" height="{size + 10}" role="img">',
        f'<text x="{size / 2}" y="14" text-anchor="middle" font-weight="bold" font-size="13">{escape(title)}</text>',
        f'<rect x="{pad}" y="20" width="{inner}" height="{inner}" fill="#fafafa" stroke="#999"/>',
        f'<line x1="{pad}" y1="{20 + inner}" x2="{pad + inner}" y2="20" stroke="#bbb" stroke-dasharray="4 3"/>',
    ]
    for v in (0.0, 0.5, 1.0):
        parts.append(
            f'<text x="{pad + v * inner}" y="{20 + inner + 14}" text-anchor="middle" font-size="10">{v:g}</text>'
            f'<text x="{pad - 4}" y="{20 + inner - v * inner + 3}" text-anchor="end" font-size="10">{v:g}</text>'
        )
    for xi, yi in zip(np.clip(x, 0, 1), np.clip(y, 0, 1)):
        same = abs(xi - yi) < 1e-9
        parts.append(
            f'<circle cx="{pad + xi * inner:.1f}" cy="{20 + inner - yi * inner:.1f}" r="3" '
            f'fill="{"#2a6fdb" if same else "#d33"}" fill-opacity="0.55"/>'
        )
    parts.append(
        f'<text x="{pad + inner / 2}" y="{size + 6}" text-anchor="middle" font-size="11">{escape(xlabel)}</text>'
        f'<text x="11" y="{20 + inner / 2}" font-size="11" text-anchor="middle" '
        f'transform="rotate(-90 11 {20 + inner / 2})">{escape(ylabel)}</text></svg>'
    )
    return "".join(parts)


def svg_histogram(values, title: str, xlabel: str, width: int = 420, height: int = 240) -> str:
    counts, edges = metrics.histogram(values, bins=20)
    if not counts:
        return ""
    pad_l, pad_b, top = 40, 36, 22
    iw, ih = width - pad_l - 10, height - pad_b - top
    peak = max(counts) or 1
    bw = iw / len(counts)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img">',
        f'<text x="{width / 2}" y="14" text-anchor="middle" font-weight="bold" font-size="13">{escape(title)}</text>',
        f'<line x1="{pad_l}" y1="{top + ih}" x2="{pad_l + iw}" y2="{top + ih}" stroke="#999"/>',
        f'<text x="{pad_l - 4}" y="{top + 8}" text-anchor="end" font-size="10">{peak}</text>',
    ]
    for i, c in enumerate(counts):
        bh = ih * c / peak
        parts.append(
            f'<rect x="{pad_l + i * bw + 1:.1f}" y="{top + ih - bh:.1f}" width="{max(bw - 2, 1):.1f}" '
            f'height="{bh:.1f}" fill="#2a6fdb"><title>{edges[i]:.0f}–{edges[i + 1]:.0f}: {c}</title></rect>'
        )
    parts.append(
        f'<text x="{pad_l}" y="{top + ih + 14}" font-size="10">{edges[0]:.0f}</text>'
        f'<text x="{pad_l + iw}" y="{top + ih + 14}" text-anchor="end" font-size="10">{edges[-1]:.0f}</text>'
        f'<text x="{pad_l + iw / 2}" y="{height - 6}" text-anchor="middle" font-size="11">{escape(xlabel)}</text></svg>'
    )
    return "".join(parts)


def png_data_uri(pixels: np.ndarray) -> str:
    from PIL import Image

    arr = np.asarray(pixels, dtype=np.uint8)
    if arr.ndim == 3 and arr.shape[2] == 1:
        arr = arr[:, :, 0]
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, format="PNG", optimize=True)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


# ------------------------------------------------------------------ page


def _positive_column(probs: np.ndarray) -> np.ndarray:
    return probs.reshape(len(probs), -1)[:, -1]


def _preds(run) -> dict:
    return {
        name: metrics.predictions(p.q if p.q is not None else p.probs)
        for name, p in run.paths.items()
        if p is not None and p.available
    }


def disagreeing_images(run) -> list[int]:
    """Images where the available paths' top-1 predictions differ (the most telling ones)."""
    preds = _preds(run)
    if len(preds) < 2:
        return []
    stacked = np.stack(list(preds.values()))
    return np.flatnonzero(np.any(stacked != stacked[0], axis=0))[:MAX_THUMBNAILS].tolist()


def device_mistakes(run) -> list[int]:
    preds = _preds(run)
    if "device" not in preds:
        return []
    return np.flatnonzero(preds["device"] != run.inputs.labels)[:MAX_THUMBNAILS].tolist()


def _thumbnails(run, idx: list[int]) -> str:
    names = run.label_names
    parts = ["<div class='thumbs'>"]
    for i in idx:
        caption = [
            f"<b>{escape(names[int(run.inputs.labels[i])])}</b> {escape(str(run.inputs.names[i]).rsplit('/', 1)[-1])}"
        ]
        for name, p in run.paths.items():
            if p is None or not p.available:
                continue
            s = p.q[i] if p.q is not None else np.round(p.probs[i], 3)
            caption.append(f"{escape(name)}: {escape(' '.join(str(v) for v in np.ravel(s)))}")
        parts.append(
            f"<figure><img src='{png_data_uri(run.inputs.pixels[i])}' alt='image {i}'>"
            f"<figcaption>{'<br>'.join(caption)}</figcaption></figure>"
        )
    parts.append("</div>")
    return "".join(parts)


def render_html(report: dict, run) -> str:
    names = run.label_names
    paths = report["paths"]
    h = [
        "<!doctype html><html><head><meta charset='utf-8'><title>vwwdeploy validation report</title>",
        f"<style>{STYLE}</style></head><body>",
        "<h1>vwwdeploy validation report</h1>",
    ]
    dvt = report["device_vs_twin"]
    verdict_ok = dvt.get("bit_exact_rate") == 1.0
    h.append(
        f"<p>Model <code>{escape(str(report['model'].get('path')))}</code> "
        f"(sha256 <code>{escape(str(report['model'].get('sha256')))}</code>), "
        f"{report['data']['count']} images from <code>{escape(report['data']['path'])}</code> "
        f"({escape(report['data']['source'])}). Created {escape(report['created'])}.</p>"
    )
    h.append(
        f"<p>Device vs TFLM twin: <span class='{'ok' if verdict_ok else 'bad'}'>"
        f"{_pct(dvt.get('bit_exact_rate'))} bit-exact</span>, "
        f"max |delta| {_fmt(dvt.get('max_abs_delta'))} int8 units.</p>"
    )
    if report["forced"]:
        h.append("<p class='bad'>--force: the board's model sha256 differs from the model file.</p>")
    for w in report["warnings"]:
        h.append(f"<p class='bad'>{escape(w)}</p>")

    h.append("<h2>Accuracy per path</h2>")
    rows = []
    for name in ("ground_truth", "device", "twin", "litert", "float"):
        p = paths[name]
        rows.append(
            [
                escape(name),
                _pct(p.get("accuracy")),
                "yes" if p.get("available") else "no",
                escape(p.get("reason") or p.get("note") or ""),
            ]
        )
    h.append(html_table(["path", "accuracy", "available", "note"], rows, left_cols=1, left_last=True))
    h.append(f"<p class='muted'>Preprocessing: {escape(report['data']['preprocessing'])}</p>")

    h.append("<h2>Agreement (int8 scores, same inputs)</h2>")
    rows = []
    for key in ("device_vs_twin", "device_vs_litert", "twin_vs_litert"):
        c = report[key]
        rows.append(
            [
                key.replace("_", " "),
                _pct(c.get("bit_exact_rate")),
                _fmt(c.get("max_abs_delta")),
                _pct(c.get("top1_agreement")),
                _pct(c.get("off_by_one_rate")),
                escape(c.get("reason") or ""),
            ]
        )
    h.append(
        html_table(["pair", "bit-exact", "max |delta|", "top-1 agree", "off by one", "note"], rows, left_last=True)
    )
    rows = [
        [
            k.replace("_", " "),
            _fmt(v.get("rmse"), 6),
            _fmt(v.get("mae"), 6),
            _fmt(v.get("cosine"), 6),
            _fmt(v.get("l2r"), 6),
        ]
        for k, v in report["cross_metrics"].items()
    ]
    h.append("<h3>Cross metrics on dequantized scores</h3>")
    h.append(html_table(["pair (reference vs device)", "rmse", "mae", "cosine", "l2r"], rows))

    h.append("<h2>Boards</h2>")
    rows = []
    for b in report["boards"]:
        lat = b["latency_us"]
        link = b.get("link") or {}
        rows.append(
            [
                f"<code>{escape(b['port'])}</code>",
                escape(str(b.get("board"))),
                escape(str(b.get("firmware_name"))),
                escape(str(b.get("firmware_version"))),
                escape(str(b.get("kernels"))),
                "yes" if b.get("sha256_matches") else "<span class='bad'>NO</span>",
                str(b["images"]),
                _pct(b.get("accuracy")),
                _pct(b.get("bit_exact_rate_vs_twin")),
                _fmt(lat.get("median_us"), 0),
                _fmt(lat.get("p90_us"), 0),
                _fmt(b.get("images_per_s"), 2),
                _fmt(link.get("retries")),
                _fmt(link.get("crc_errors")),
            ]
        )
    h.append(
        html_table(
            [
                "port",
                "board",
                "firmware",
                "version",
                "kernels",
                "sha ok",
                "images",
                "accuracy",
                "bit-exact",
                "median µs",
                "p90 µs",
                "img/s",
                "retries",
                "crc errors",
            ],
            rows,
            left_cols=5,
        )
    )
    lat = report["latency_us"]
    h.append(
        f"<p>Device latency (board timer): min {_fmt(lat.get('min_us'), 0)} µs, "
        f"median {_fmt(lat.get('median_us'), 0)} µs, "
        f"p90 {_fmt(lat.get('p90_us'), 0)} µs, max {_fmt(lat.get('max_us'), 0)} µs. "
        f"Link: {_fmt(report['link'].get('bytes_per_s'), 0)} bytes/s, "
        f"{_fmt(report['link'].get('images_per_s'), 2)} images/s overall.</p>"
    )

    h.append("<h2>Plots</h2><div class='plots'>")
    for name in ("device", "twin", "litert", "float"):
        cm = paths[name].get("confusion_matrix")
        if cm:
            h.append(svg_confusion(cm, names, f"{name} confusion"))
    dev = run.paths.get("device")
    if dev is not None and dev.available:
        for ref in ("twin", "litert", "float"):
            p = run.paths.get(ref)
            if p is not None and p.available:
                h.append(
                    svg_scatter(
                        _positive_column(p.probs),
                        _positive_column(dev.probs),
                        f"{ref} score ({names[-1]})",
                        f"device score ({names[-1]})",
                        f"{ref} vs device",
                    )
                )
        if len(run.latency_us):
            h.append(svg_histogram(run.latency_us, "device latency", "µs per inference (board timer)"))
    h.append("</div>")

    idx = disagreeing_images(run)
    h.append("<h2>Where the paths disagree</h2>")
    h.append(
        "<p>Top-1 differs between paths on these images (label in bold; raw int8 scores per path).</p>"
        + _thumbnails(run, idx)
        if idx
        else "<p>Nowhere: every path has the same top-1 on every image.</p>"
    )
    idx = device_mistakes(run)
    h.append("<h2>Device mistakes</h2>")
    h.append(
        (
            f"<p>The board's top-1 differs from the label on these images"
            f"{f' (first {MAX_THUMBNAILS})' if len(idx) == MAX_THUMBNAILS else ''}.</p>" + _thumbnails(run, idx)
        )
        if idx
        else "<p>None.</p>"
    )

    h.append("<h2>Boards' HELLO</h2>")
    for b in report["boards"]:
        hello = b.get("hello") or {}
        rows = [[escape(str(k)), escape(str(v))] for k, v in hello.items()]
        h.append(f"<h3><code>{escape(b['port'])}</code></h3>" + html_table(["field", "value"], rows, left_cols=2))
    h.append("</body></html>")
    return "\n".join(h)
