"""Run the boards and the host paths at the same time: a thread per board pulling images from one shared
queue (a faster board simply takes more), and one thread running the host paths one after the other.

The first error in any thread stops the others (they finish the request in flight) and is raised in the
caller's thread, so a board that stops answering fails the run with its own one-line DeviceError.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass

import numpy as np

from vwwdeploy.errors import DeviceError

Advance = Callable[..., None]
HostJob = tuple[str, str | None, Callable[[Advance], object]]  # (key, progress label or None, job(advance))


@dataclass
class DeviceScores:
    q: np.ndarray  # int8 [N, K]
    latency_us: np.ndarray  # int64 [N], the board's own timer
    instructions: np.ndarray  # int64 [N], 0 when the board cannot count
    board_of: np.ndarray  # int64 [N], index into the boards list


def run_parallel(
    devices: list, boards: list, x: np.ndarray, k: int, host_jobs: list[HostJob], show_progress: bool = True
) -> tuple[DeviceScores, dict]:
    """devices[i] serves boards[i] (a runner.BoardRun: .port, .indices and .wall_s are filled in here)."""
    from vwwdeploy.progress import progress_bar

    n = len(x)
    out = DeviceScores(
        np.zeros((n, k), np.int8), np.zeros(n, np.int64), np.zeros(n, np.int64), np.full(n, -1, np.int64)
    )
    host: dict = {}
    errors: list[BaseException] = []
    stop = threading.Event()
    lock = threading.Lock()
    pending = iter(range(n))

    def fail(exc: BaseException) -> None:
        errors.append(exc)
        stop.set()

    def board_worker(bi: int, dev, advance: Advance) -> None:
        # With iter_infer two requests are in flight (the board receives the next image while it computes
        # the current one); results come back in request order, matched here with the indices taken.
        b = boards[bi]
        taken: deque[int] = deque()

        def feed():
            while not stop.is_set():
                with lock:
                    i = next(pending, None)
                if i is None:
                    return
                taken.append(i)
                yield x[i]

        start = time.perf_counter()
        try:
            results = dev.iter_infer(feed()) if hasattr(dev, "iter_infer") else (dev.infer(xi) for xi in feed())
            for r in results:
                i = taken.popleft()
                scores = np.asarray(r.scores).astype(np.int8).reshape(-1)
                if scores.size != k:
                    raise DeviceError(f"the board on {b.port} answered {scores.size} scores; the model has {k}")
                out.q[i], out.latency_us[i], out.instructions[i], out.board_of[i] = (
                    scores,
                    r.latency_us,
                    r.instructions,
                    bi,
                )
                b.indices.append(i)
                advance()
        except BaseException as exc:  # noqa: BLE001 - raised again in the caller's thread
            fail(exc)
        finally:
            b.wall_s = time.perf_counter() - start

    def host_worker(jobs: list[tuple[str, Advance, Callable]]) -> None:
        try:
            for key, advance, job in jobs:
                if stop.is_set():
                    return
                host[key] = job(advance)
        except BaseException as exc:  # noqa: BLE001
            fail(exc)

    with progress_bar() if show_progress else nullcontext() as bar:

        def task(label: str | None) -> Advance:
            if bar is None or label is None:
                return lambda step=1: None
            t = bar.add_task(label, total=n)
            return lambda step=1: bar.advance(t, step)

        threads = [
            threading.Thread(
                target=board_worker,
                args=(bi, dev, task(f"board {boards[bi].port}")),
                name=f"validate-board-{bi}",
                daemon=True,
            )
            for bi, dev in enumerate(devices)
        ]
        jobs = [(key, task(label), job) for key, label, job in host_jobs]
        threads.append(threading.Thread(target=host_worker, args=(jobs,), name="validate-host", daemon=True))
        for t in threads:
            t.start()
        try:
            for t in threads:
                while t.is_alive():
                    t.join(0.5)  # a bounded join keeps Ctrl-C responsive
        except KeyboardInterrupt:
            stop.set()
            raise
    if errors:
        raise errors[0]
    return out, host
