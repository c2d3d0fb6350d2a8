"""`vwwdeploy dataset download`: COCO 2014 from images.cocodataset.org (or a mirror), resumable and verified.

Each archive is fetched into `<name>.part`; a re-run (or an automatic retry after a dropped connection) asks the
server for the remaining bytes with an HTTP Range request and appends. A finished download is checked against
the known size and MD5 of the official file (the table below; COCO's S3 bucket serves the MD5 as the ETag) or,
for files we do not know, against the size the server announced; unzipping then checks every member's CRC-32.
Only then is it renamed to `<name>` and unpacked into the layout `dataset build --coco-dir` reads:

    OUT/annotations/instances_train2014.json   OUT/annotations/instances_val2014.json
    OUT/train2014/*.jpg                        OUT/val2014/*.jpg
"""

from __future__ import annotations

import hashlib
import http.client
import json
import os
import re
import shutil
import socket
import tempfile
import urllib.error
import urllib.request
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from vwwdeploy.errors import UserError

OFFICIAL_BASE_URL = "http://images.cocodataset.org"
CHUNK = 1 << 20
TIMEOUT_S = 60
STATE_FILE = ".vwwdeploy-download.json"


@dataclass(frozen=True)
class Archive:
    name: str  # file name, e.g. "train2014.zip"
    url_path: str  # under the base URL
    produces: tuple[str, ...]  # paths (relative to OUT) the archive must unpack


@dataclass(frozen=True)
class Known:
    size: int
    md5: str


ANNOTATIONS = Archive(
    "annotations_trainval2014.zip",
    "annotations/annotations_trainval2014.zip",
    ("annotations/instances_train2014.json", "annotations/instances_val2014.json"),
)
TRAIN = Archive("train2014.zip", "zips/train2014.zip", ("train2014",))
VAL = Archive("val2014.zip", "zips/val2014.zip", ("val2014",))

# Sizes and MD5s of the official COCO 2014 archives (as served since 2018; MD5 = the S3 ETag).
KNOWN_OFFICIAL = {
    "annotations_trainval2014.zip": Known(252_872_794, "0a379cfc70b0e71301e0f377548639bd"),
    "train2014.zip": Known(13_510_573_713, "0da8c0bd3d6becc4dcb32757491aca88"),
    "val2014.zip": Known(6_645_013_297, "a3d79f5ed8d289b7a7554ce06a5782b3"),
}


def archives_for(split: str) -> list[Archive]:
    """Annotations always (both splits' labels are in one archive), then the image archives asked for."""
    if split not in ("train", "val", "all"):
        raise UserError(f"--split must be train, val or all, not {split!r}")
    return [ANNOTATIONS] + ([TRAIN] if split in ("train", "all") else []) + ([VAL] if split in ("val", "all") else [])


class _Dropped(Exception):
    """The connection ended before the announced length; the .part file keeps what arrived."""


def _open(url: str, start: int):
    request = urllib.request.Request(url, headers={"User-Agent": "vwwdeploy", "Accept-Encoding": "identity"})
    if start:
        request.add_header("Range", f"bytes={start}-")
    try:
        return urllib.request.urlopen(request, timeout=TIMEOUT_S)
    except urllib.error.HTTPError as exc:
        if exc.code == 416:  # Range not satisfiable: we may already hold the whole file
            return exc
        raise UserError(f"{url}: HTTP {exc.code} {exc.reason}") from None
    except urllib.error.URLError as exc:
        raise UserError(f"cannot reach {url}: {exc.reason} (re-run to resume)") from None
    except (OSError, http.client.HTTPException) as exc:
        raise UserError(f"cannot reach {url}: {exc} (re-run to resume)") from None


def _total_from(response, start: int) -> tuple[int | None, bool]:
    """(total size if the server said it, whether the body continues at `start`)."""
    status = response.status if hasattr(response, "status") else response.code
    if status == 206:
        match = re.match(r"bytes (\d+)-(\d+)/(\d+|\*)", response.headers.get("Content-Range", ""))
        if not match or int(match.group(1)) != start:
            return None, False
        return (None if match.group(3) == "*" else int(match.group(3))), True
    length = response.headers.get("Content-Length")
    return (int(length) if length and length.isdigit() else None), start == 0


def _fetch_once(url: str, part: Path, bar, task) -> int | None:
    """One HTTP request appending to `part`. Returns the total size if known; raises _Dropped on a short body."""
    start = part.stat().st_size if part.exists() else 0
    response = _open(url, start)
    with response:
        status = response.status if hasattr(response, "status") else response.code
        if status == 416:
            match = re.match(r"bytes \*/(\d+)", response.headers.get("Content-Range", ""))
            total = int(match.group(1)) if match else None
            if total is not None and total == start:
                return total
            part.unlink(missing_ok=True)  # the partial file is longer than the file now: start over
            raise _Dropped("partial file does not fit the server's file")
        total, continues = _total_from(response, start)
        if status == 206 and not continues:
            part.unlink(missing_ok=True)  # a range we did not ask for: trust nothing, start over
            raise _Dropped("the server answered with a different byte range")
        if not continues:
            start = 0  # the server ignored our Range: it sends the whole file again
        if bar is not None:
            bar.update(task, total=total, completed=start)
        received = start
        with open(part, "ab" if continues else "wb") as fh:
            try:
                while True:
                    block = response.read(CHUNK)
                    if not block:
                        break
                    fh.write(block)
                    received += len(block)
                    if bar is not None:
                        bar.update(task, completed=received)
            except (http.client.IncompleteRead, ConnectionError, socket.timeout, TimeoutError) as exc:
                raise _Dropped(str(exc) or type(exc).__name__) from None
        if total is not None and received < total:
            raise _Dropped(f"got {received} of {total} bytes")
        return total


def _md5(path: Path) -> str:
    digest = hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as fh:
        while block := fh.read(CHUNK * 8):
            digest.update(block)
    return digest.hexdigest()


def fetch(url: str, dest: Path, known: Known | None = None, retries: int = 5, bar=None) -> Path:
    """Download `url` to `dest` (resuming `dest.part`), verify, rename; returns dest."""
    part = dest.with_name(dest.name + ".part")
    task = bar.add_task(dest.name, total=known.size if known else None) if bar is not None else None
    total = None
    for attempt in range(retries + 1):
        try:
            total = _fetch_once(url, part, bar, task)
            break
        except _Dropped as exc:
            if attempt == retries:
                have = part.stat().st_size if part.exists() else 0
                raise UserError(
                    f"download of {dest.name} interrupted ({exc}); {have} bytes kept in {part}, re-run to resume"
                ) from None
    size = part.stat().st_size
    expected = known.size if known else total
    if expected is not None and size != expected:
        part.unlink()
        raise UserError(f"{dest.name}: got {size} bytes, expected {expected}; partial file removed, re-run")
    if known is not None:
        actual = _md5(part)
        if actual != known.md5:
            part.unlink()
            raise UserError(f"{dest.name}: MD5 {actual} differs from the official {known.md5}; file removed, re-run")
    os.replace(part, dest)
    return dest


def _safe_members(archive: zipfile.ZipFile, name: str) -> list[zipfile.ZipInfo]:
    members = archive.infolist()
    for info in members:
        p = PurePosixPath(info.filename)
        if p.is_absolute() or ".." in p.parts:
            raise UserError(f"{name}: refusing member {info.filename!r} that points outside the folder")
    return members


def unpack(zip_path: Path, out: Path, produces: tuple[str, ...]) -> None:
    """Extract into a temporary folder inside `out` (CRC-checked), then move the top-level entries into place."""
    tmp = Path(tempfile.mkdtemp(prefix=".unpack-", dir=out))
    try:
        try:
            with zipfile.ZipFile(zip_path) as archive:
                for info in _safe_members(archive, zip_path.name):
                    archive.extract(info, tmp)  # reading each member to its end checks its CRC-32
        except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError) as exc:
            raise UserError(f"{zip_path.name} is not a valid zip ({exc}); delete it and re-run") from None
        for rel in produces:
            if not (tmp / rel).exists():
                raise UserError(f"{zip_path.name} does not contain {rel}: not the expected COCO archive")
        for entry in tmp.iterdir():
            _move_into(entry, out / entry.name)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _move_into(src: Path, dest: Path) -> None:
    if not dest.exists():
        os.rename(src, dest)
    elif src.is_dir() and dest.is_dir():
        for child in src.iterdir():
            _move_into(child, dest / child.name)
    else:
        os.replace(src, dest)


def _load_state(out: Path) -> dict:
    try:
        return json.loads((out / STATE_FILE).read_text())
    except (OSError, ValueError):
        return {}


def _save_state(out: Path, state: dict) -> None:
    from vwwdeploy.atomic import atomic_write_text

    atomic_write_text(out / STATE_FILE, json.dumps(state, indent=2) + "\n")


def _check_space(out: Path, archives: list[Archive], known_table: dict) -> None:
    need = 0
    for a in archives:
        known = known_table.get(a.name)
        if known:
            part = out / (a.name + ".part")
            have = part.stat().st_size if part.exists() else 0
            need += (known.size - have) + known.size  # rest of the zip + its unpacked contents (about as big)
    free = shutil.disk_usage(out).free
    if need > free:
        raise UserError(f"{out} has {free / 1e9:.1f} GB free; COCO 2014 needs about {need / 1e9:.1f} GB more")


def download_coco(
    out,
    base_url: str = OFFICIAL_BASE_URL,
    split: str = "all",
    keep_zips: bool = False,
    retries: int = 5,
    known_table: dict | None = None,
    quiet: bool = False,
) -> Path:
    """Download and unpack the COCO 2014 archives for `split` into `out`; skips what is already done."""
    from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn, TransferSpeedColumn

    from vwwdeploy.progress import console, say

    out = Path(out)
    if out.exists() and not out.is_dir():
        raise UserError(f"--out {out} exists and is not a directory")
    try:
        out.mkdir(parents=True, exist_ok=True)
        probe = tempfile.mkdtemp(prefix=".probe-", dir=out)
        os.rmdir(probe)
    except OSError as exc:
        raise UserError(f"cannot write --out {out}: {exc.strerror}") from None
    if not re.match(r"^https?://", base_url):
        raise UserError(f"--base-url must start with http:// or https://, not {base_url!r}")
    base_url = base_url.rstrip("/")
    if known_table is None:
        # Sizes/MD5s are only known for the official files; a mirror is held to what it announces + zip CRCs.
        known_table = KNOWN_OFFICIAL if base_url == OFFICIAL_BASE_URL else {}
    archives = archives_for(split)
    state = _load_state(out)
    todo = [
        a for a in archives if not (state.get(a.name) == "unpacked" and all((out / p).exists() for p in a.produces))
    ]
    _check_space(out, todo, known_table)
    columns = (
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=console, transient=quiet) as bar:
        for archive in todo:
            zip_path = out / archive.name
            if not zip_path.exists():
                fetch(f"{base_url}/{archive.url_path}", zip_path, known_table.get(archive.name), retries, bar)
            unpack(zip_path, out, archive.produces)
            state[archive.name] = "unpacked"
            _save_state(out, state)
            if not keep_zips:
                zip_path.unlink()
    for archive in archives:
        if archive not in todo:
            say(f"{archive.name}: already downloaded and unpacked")
    say(f"COCO 2014 ({split}) is in {out}; next: vwwdeploy dataset build --coco-dir {out} --out <dataset>")
    return out
