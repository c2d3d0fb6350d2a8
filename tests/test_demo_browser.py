"""`vwwdeploy demo` in a real browser (Debian chromium, headless, driven by Playwright) against the
simulated board: the page draws exactly the bytes the board sent and the scores of its RESULT, and it
shows "disconnected" when the link goes away or the board resets, then recovers with a new HELLO."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import numpy as np
import pytest
from demo_support import expected_for, make_camera_dir

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
BROWSER_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
WAIT_MS = 30_000  # generous: the machine is shared; every wait ends as soon as the page gets there

if not Path(CHROMIUM).is_file():
    pytest.skip("needs Debian's chromium at /usr/bin/chromium (scripts/test installs it)", allow_module_level=True)
sync_api = pytest.importorskip("playwright.sync_api", reason="needs Playwright for Python (pip install -e '.[dev]')")

# Everything the page shows for the current frame, read in one go (JS runs to completion, so no SSE
# event can land between reading the canvas and reading the numbers). The canvas holds SCALE x SCALE
# blocks; each block must be uniform (crisp scaling) and its colour is the board's pixel.
READ_PAGE = """() => {
  const c = document.getElementById('frame');
  const scale = c.width / 96;
  const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
  const px = new Array(96 * 96);
  let blurred = 0, coloured = 0;
  for (let y = 0; y < 96; y++) for (let x = 0; x < 96; x++) {
    const first = 4 * (y * scale * c.width + x * scale);
    for (let dy = 0; dy < scale; dy++) for (let dx = 0; dx < scale; dx++) {
      const o = 4 * ((y * scale + dy) * c.width + x * scale + dx);
      if (d[o] !== d[first] || d[o + 3] !== 255) blurred++;
    }
    if (d[first] !== d[first + 1] || d[first] !== d[first + 2]) coloured++;
    px[y * 96 + x] = d[first];
  }
  const text = (id) => document.getElementById(id).textContent;
  return {pixels: px, blurred, coloured, scale, index: Number(c.dataset.index), label: text('label'),
          score: text('score'), scores: text('scores'), sha256: text('sha256'), board: text('board'),
          pipeline: text('pipeline'), state: document.getElementById('status').dataset.state,
          bar: document.getElementById('bar-fill').getBoundingClientRect().width /
               document.getElementById('bar-fill').parentElement.clientWidth,
          link: Object.assign({}, document.getElementById('link').dataset)};
}"""


@pytest.fixture(scope="module")
def camera(coco128, upstream_model, tmp_path_factory):
    pictures = make_camera_dir(coco128, tmp_path_factory.mktemp("camera"))
    return pictures[0].parent, expected_for(upstream_model, pictures)


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=BROWSER_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser):
    page = browser.new_page(viewport={"width": 1100, "height": 800})
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    yield page
    page.close()
    assert not errors, f"JavaScript errors on the page: {errors}"


@pytest.fixture
def sim_factory(upstream_model, camera):
    from vwwdeploy.virtual_boards.sim import start_sim_in_thread

    stops = []

    def start(tcp=True, **kwargs):
        url, stop = start_sim_in_thread(upstream_model, camera_dir=camera[0], tcp=tcp, **kwargs)
        stops.append(stop)
        return url, stop

    yield start
    for stop in stops:
        stop()


@pytest.fixture
def demo_factory():
    from vwwdeploy.apps.demo import DemoServer

    servers = []

    def start(port_url, **kwargs):
        server = DemoServer(port_url, ("127.0.0.1", 0), **kwargs).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


def frame_after(page, index: int, extra: str = "true") -> dict:
    """Wait for a frame newer than `index` (and `extra`, a JS condition), then read the page."""
    page.wait_for_function(
        f"Number(document.getElementById('frame').dataset.index ?? -1) > {index} && ({extra})", timeout=WAIT_MS
    )
    return page.evaluate(READ_PAGE)


def check_frame(shown: dict, expected, mode: int) -> int:
    """The page's frame is one of the camera pictures through the board pipeline, with that picture's scores."""
    assert shown["blurred"] == 0 and shown["coloured"] == 0 and shown["scale"] == 4
    pixels = np.array(shown["pixels"], dtype=np.uint8).reshape(96, 96)
    k = expected.match(pixels, mode)
    assert k is not None, "the page shows pixels that are not the board's frame"
    scores = expected.scores[mode][k]
    assert shown["scores"] == f"[{', '.join(map(str, scores))}]"
    assert shown["score"] == f"{(scores[1] + 128) / 256:.3f}"  # person: output scale 1/256, zero point -128
    assert shown["bar"] == pytest.approx((scores[1] + 128) / 256, abs=0.01)
    assert shown["label"] == ("person" if scores[1] > scores[0] else "notperson")
    return k


def test_page_shows_what_the_board_sent(page, camera, upstream_model, sim_factory, demo_factory):
    _, expected = camera
    url, _ = sim_factory()
    server = demo_factory(url)
    page.goto(server.url)

    seen: set[int] = set()
    shown = frame_after(page, -1)
    while len(seen) < 3:  # every picture of the camera cycle, each checked pixel for pixel
        seen.add(check_frame(shown, expected, mode=0))
        shown = frame_after(page, shown["index"])
    assert shown["sha256"] == hashlib.sha256(upstream_model.read_bytes()).hexdigest()
    assert shown["board"] == "sim" and shown["pipeline"] == "decimate" and shown["state"] == "connected"

    # The artefact screenshot shows a person frame (one picture in three has one) and a full timeline;
    # the page holds that frame from the very moment the condition is seen, so the screenshot shows it.
    shown = frame_after(
        page,
        max(shown["index"], 60),
        "document.getElementById('label').dataset.label === 'person'"
        " && (window.vwwDemo.hold = true)"
        " && (window.heldAt = window.vwwDemo.frames)",
    )
    check_frame(shown, expected, mode=0)
    page.wait_for_function("window.vwwDemo.frames >= window.heldAt + 2", timeout=WAIT_MS)
    assert page.evaluate(READ_PAGE) == shown  # held: newer frames arrived and were not drawn
    assert page.evaluate("getComputedStyle(document.getElementById('frame')).imageRendering") == "pixelated"
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "demo.png"), full_page=True)


def test_page_survives_a_pulled_link_and_a_board_reset(page, camera, sim_factory, demo_factory):
    _, expected = camera
    url, stop = sim_factory()
    port = int(url.rsplit(":", 1)[1])
    server = demo_factory(url)
    page.goto(server.url)
    shown = frame_after(page, -1)
    check_frame(shown, expected, mode=0)

    stop()  # pull the cable: the TCP port closes
    page.wait_for_selector("#status[data-state=disconnected]", timeout=WAIT_MS)
    assert page.is_visible("#overlay") and "disconnected" in page.inner_text("#overlay")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "demo-disconnected.png"), full_page=True)
    last = page.evaluate("Number(document.getElementById('frame').dataset.index)")

    # The board comes back on the same port with another pipeline: the page must show the new HELLO
    # and frames made by the new pipeline.
    url2, stop2 = sim_factory(tcp=("127.0.0.1", port), pipeline_mode=1)
    assert url2 == url
    shown = frame_after(page, last, "document.getElementById('pipeline').textContent === 'box-average'")
    check_frame(shown, expected, mode=1)
    assert shown["state"] == "connected" and shown["link"]["connects"] == "2" and shown["link"]["drops"] == "1"
    assert not page.is_visible("#overlay")

    # A board reset (boot INFO mid-stream): "disconnected", HELLO again, frames again.
    stop2.board.reset()
    shown = frame_after(
        page,
        shown["index"],
        "document.getElementById('link').dataset.resets === '1' && "
        "document.getElementById('status').dataset.state === 'connected'",
    )
    check_frame(shown, expected, mode=1)
    assert shown["link"]["connects"] == "3"

    # The demo itself goes away: the page says so (and keeps the link counts it had).
    server.stop()
    page.wait_for_selector("#status[data-state=offline]", timeout=WAIT_MS)
    assert page.evaluate("document.getElementById('link').dataset.connects") == "3"
