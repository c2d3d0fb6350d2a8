"""`vwwdeploy dataset download` against a local HTTP server: layout, resume after a dropped connection,
verification (size, MD5, zip CRC), and one-line failures."""

from __future__ import annotations

import hashlib
import io
import re
import threading
import zipfile
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from vwwdeploy.cli import main
from vwwdeploy.data.download import Known, download_coco
from vwwdeploy.data.store import open_split
from vwwdeploy.data.synthetic import make_synthetic_coco
from vwwdeploy.errors import UserError


class _Handler(BaseHTTPRequestHandler):
    """Serves server.files with Range support; paths in server.drop_once get cut off halfway, once."""

    protocol_version = "HTTP/1.1"

    def log_message(self, *args):  # keep test output clean
        pass

    def do_GET(self):
        srv = self.server
        data = srv.files.get(self.path)
        srv.log.append((self.path, self.headers.get("Range")))
        if data is None:
            self.send_response(404)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        start, status = 0, 200
        match = re.fullmatch(r"bytes=(\d+)-", self.headers.get("Range") or "")
        if match and srv.honour_range:
            start, status = int(match.group(1)) + srv.shift_range, 206
            srv.shift_range = 0
            if start >= len(data):
                self.send_response(416)
                self.send_header("Content-Range", f"bytes */{len(data)}")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
        body = data[start:]
        self.send_response(status)
        self.send_header("Content-Type", "application/zip")
        self.send_header("Content-Length", str(len(body)))
        if status == 206:
            self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
        self.end_headers()
        if self.path in srv.drop_once:
            srv.drop_once.discard(self.path)
            self.wfile.write(body[: len(body) // 2])
            self.wfile.flush()
            self.close_connection = True  # the client sees the socket close before Content-Length bytes
            return
        self.wfile.write(body)


@pytest.fixture()
def server():
    srv = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    srv.files, srv.log, srv.drop_once, srv.honour_range, srv.shift_range = {}, [], set(), True, 0
    thread = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    srv.url = f"http://127.0.0.1:{srv.server_address[1]}"
    yield srv
    srv.shutdown()
    srv.server_close()


def _zip_folder(root: Path, top: str, pad: int = 0) -> bytes:
    """Zip root/top/** with names starting at top/, as the COCO archives are laid out."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as zf:
        for p in sorted((root / top).rglob("*")):
            zf.write(p, p.relative_to(root).as_posix())
        if pad:  # make the archive big enough that halfway is many read() calls in
            zf.writestr(f"{top}/padding.bin", bytes(range(256)) * (pad // 256))
    return buf.getvalue()


@pytest.fixture(scope="module")
def coco_zips(tmp_path_factory):
    src = make_synthetic_coco(tmp_path_factory.mktemp("src") / "coco", n_train=8, n_val=4, seed=1)
    return {
        "/annotations/annotations_trainval2014.zip": _zip_folder(src, "annotations"),
        "/zips/train2014.zip": _zip_folder(src, "train2014", pad=3 << 20),
        "/zips/val2014.zip": _zip_folder(src, "val2014"),
    }


def test_download_layout_then_build(server, coco_zips, tmp_path, capsys):
    server.files.update(coco_zips)
    out = tmp_path / "coco"
    assert main(["dataset", "download", "--out", str(out), "--base-url", server.url]) == 0
    assert (out / "annotations" / "instances_train2014.json").is_file()
    assert (out / "annotations" / "instances_val2014.json").is_file()
    assert len(list((out / "train2014").glob("*.jpg"))) == 8
    assert len(list((out / "val2014").glob("*.jpg"))) == 4
    assert not list(out.glob("*.zip")) and not list(out.glob("*.part"))
    # The downloaded folder is what `build --coco-dir` takes.
    assert (
        main(
            [
                "dataset",
                "build",
                "--coco-dir",
                str(out),
                "--out",
                str(tmp_path / "ds"),
                "--size",
                "32",
                "--workers",
                "1",
            ]
        )
        == 0
    )
    assert len(open_split(tmp_path / "ds" / "train")) == 8 and len(open_split(tmp_path / "ds" / "val")) == 4
    # A second run finds everything done and asks the server for nothing.
    requests = len(server.log)
    assert main(["dataset", "download", "--out", str(out), "--base-url", server.url]) == 0
    assert len(server.log) == requests
    assert "already downloaded" in capsys.readouterr().err


def test_split_selects_image_archives(server, coco_zips, tmp_path):
    server.files.update(coco_zips)
    download_coco(tmp_path / "c", base_url=server.url, split="val", keep_zips=True, quiet=True)
    assert sorted(path for path, _ in server.log) == ["/annotations/annotations_trainval2014.zip", "/zips/val2014.zip"]
    assert (tmp_path / "c" / "val2014.zip").is_file() and not (tmp_path / "c" / "train2014").exists()


def test_interrupted_download_resumes_on_rerun(server, coco_zips, tmp_path, capsys):
    server.files.update(coco_zips)
    server.drop_once.add("/zips/train2014.zip")
    out = tmp_path / "coco"
    argv = ["dataset", "download", "--out", str(out), "--base-url", server.url, "--split", "train", "--retries", "0"]
    assert main(argv) != 0
    err = capsys.readouterr().err
    assert "interrupted" in err and "re-run to resume" in err and "Traceback" not in err
    part = out / "train2014.zip.part"
    have = part.stat().st_size
    size = len(coco_zips["/zips/train2014.zip"])
    assert 0 < have < size
    assert not (out / "train2014").exists()

    assert main(argv) == 0
    assert server.log[-1] == ("/zips/train2014.zip", f"bytes={have}-")  # asked only for the rest
    assert not part.exists()
    assert (out / "train2014" / "padding.bin").stat().st_size == 3 << 20
    assert len(list((out / "train2014").glob("*.jpg"))) == 8


def test_dropped_connection_is_retried_in_the_same_run(server, coco_zips, tmp_path):
    server.files.update(coco_zips)
    server.drop_once.add("/zips/train2014.zip")
    payload = coco_zips["/zips/train2014.zip"]
    known = {"train2014.zip": Known(len(payload), hashlib.md5(payload).hexdigest())}
    download_coco(tmp_path / "c", base_url=server.url, split="train", known_table=known, keep_zips=True, quiet=True)
    train_requests = [rng for path, rng in server.log if path == "/zips/train2014.zip"]
    assert train_requests[0] is None and re.fullmatch(r"bytes=\d+-", train_requests[1])
    assert (tmp_path / "c" / "train2014.zip").read_bytes() == payload


def test_server_ignoring_range_restarts_cleanly(server, coco_zips, tmp_path):
    server.files.update(coco_zips)
    server.honour_range = False
    server.drop_once.add("/zips/val2014.zip")
    download_coco(tmp_path / "c", base_url=server.url, split="val", keep_zips=True, quiet=True)
    assert (tmp_path / "c" / "val2014.zip").read_bytes() == coco_zips["/zips/val2014.zip"]


def test_wrong_range_answer_restarts_from_zero(server, coco_zips, tmp_path):
    server.files.update(coco_zips)
    payload = coco_zips["/zips/val2014.zip"]
    out = tmp_path / "c"
    out.mkdir()
    (out / "val2014.zip.part").write_bytes(payload[:1000])
    server.shift_range = 7  # answers 206 for bytes 1007- instead of 1000-
    download_coco(out, base_url=server.url, split="val", keep_zips=True, quiet=True)
    assert (out / "val2014.zip").read_bytes() == payload
    val_requests = [rng for path, rng in server.log if path == "/zips/val2014.zip"]
    assert val_requests == ["bytes=1000-", None]


def test_part_already_complete_gets_416_and_is_kept(server, coco_zips, tmp_path):
    server.files.update(coco_zips)
    out = tmp_path / "c"
    out.mkdir()
    (out / "val2014.zip.part").write_bytes(coco_zips["/zips/val2014.zip"])
    download_coco(out, base_url=server.url, split="val", quiet=True)
    assert ("/zips/val2014.zip", f"bytes={len(coco_zips['/zips/val2014.zip'])}-") in server.log
    assert len(list((out / "val2014").glob("*.jpg"))) == 4


@pytest.mark.parametrize("what", ["md5", "size"])
def test_known_checksum_or_size_mismatch_is_refused(server, coco_zips, tmp_path, what):
    server.files.update(coco_zips)
    payload = coco_zips["/annotations/annotations_trainval2014.zip"]
    known = (
        Known(len(payload), "0" * 32) if what == "md5" else Known(len(payload) + 5, hashlib.md5(payload).hexdigest())
    )
    with pytest.raises(UserError) as exc:
        download_coco(
            tmp_path / "c",
            base_url=server.url,
            split="val",
            quiet=True,
            known_table={"annotations_trainval2014.zip": known},
        )
    assert ("MD5" if what == "md5" else "bytes") in str(exc.value)
    assert not list((tmp_path / "c").glob("annotations*"))  # nothing half-verified is left behind


def _corrupt_crc(zip_bytes: bytes) -> bytes:
    """Flip a byte inside the first member's data (stored, so the CRC no longer matches)."""
    data = bytearray(zip_bytes)
    with zipfile.ZipFile(io.BytesIO(zip_bytes)) as zf:
        info = zf.infolist()[0]
    name_len = int.from_bytes(data[info.header_offset + 26 : info.header_offset + 28], "little")
    extra_len = int.from_bytes(data[info.header_offset + 28 : info.header_offset + 30], "little")
    data[info.header_offset + 30 + name_len + extra_len + 10] ^= 0xFF
    return bytes(data)


@pytest.mark.parametrize(
    "setup,message",
    [
        (lambda s, z: s.files.pop("/zips/val2014.zip"), "HTTP 404"),
        (lambda s, z: s.files.update({"/zips/val2014.zip": b"<html>not a zip</html>"}), "not a valid zip"),
        (lambda s, z: s.files.update({"/zips/val2014.zip": _corrupt_crc(z["/zips/val2014.zip"])}), "not a valid zip"),
        (
            lambda s, z: s.files.update({"/zips/val2014.zip": z["/annotations/annotations_trainval2014.zip"]}),
            "does not contain val2014",
        ),
    ],
    ids=["404", "not-a-zip", "bad-crc", "wrong-archive"],
)
def test_bad_downloads_fail_in_one_line(server, coco_zips, tmp_path, capsys, setup, message):
    server.files.update(coco_zips)
    setup(server, coco_zips)
    out = tmp_path / "c"
    assert main(["dataset", "download", "--out", str(out), "--base-url", server.url, "--split", "val"]) != 0
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if "error" in line]
    assert len(lines) == 1 and message in lines[0] and "Traceback" not in err
    assert not (out / "val2014").exists()


def test_unreachable_server_and_bad_out(tmp_path, capsys):
    assert main(["dataset", "download", "--out", str(tmp_path / "c"), "--base-url", "http://127.0.0.1:9"]) != 0
    assert main(["dataset", "download", "--out", str(tmp_path / "c"), "--base-url", "ftp://x"]) != 0
    (tmp_path / "file").write_text("x")
    assert main(["dataset", "download", "--out", str(tmp_path / "file")]) != 0
    err = capsys.readouterr().err
    assert "cannot reach" in err and "--base-url must start" in err and "not a directory" in err
    assert "Traceback" not in err
