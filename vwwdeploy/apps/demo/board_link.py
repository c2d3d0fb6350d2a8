"""`BoardLink`: the one thread that owns the `Device` and its STREAM, and keeps it alive.

It streams captures into the hub (and the recorder). When the link fails (port gone, connection
refused, no answer) it publishes "disconnected" with the reason and reopens the port with growing
pauses; when the board resets (its boot INFO arrives mid-stream) it shows "disconnected" too, then
asks HELLO again (a reflashed board may run another model) and restarts the stream. Nothing here
ends on a board problem: only `stop()` ends it.
"""

from __future__ import annotations

import threading
import time

import numpy as np

from vwwdeploy.apps.demo.hub import Hub
from vwwdeploy.apps.demo.views import frame_view, hello_view
from vwwdeploy.errors import UserError

BACKOFF_FIRST_S = 0.25
BACKOFF_MAX_S = 4.0
FPS_SMOOTHING = 0.2  # weight of the newest frame interval in the displayed frame rate


class BoardLink:
    """Runs in its own thread; `device`/`info` may be a link the caller already opened and greeted."""

    def __init__(
        self,
        port: str,
        hub: Hub,
        *,
        open_device,
        device=None,
        info=None,
        raw: bool = False,
        max_fps: int = 0,
        saver=None,
        warn=None,
    ):
        self.port, self.hub = port, hub
        self._open_device = open_device  # () -> Device; raises DeviceError with one line
        self._dev, self._info = device, info
        self.raw, self.max_fps = raw, max_fps
        self.saver = saver
        self.warn = warn or (lambda text: None)
        self.index = 0  # frames shown since the demo started, across reconnects
        self.counts = {"connects": 0, "resets": 0, "drops": 0}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="vwwdeploy-demo-board", daemon=True)
        self._t0 = time.perf_counter()

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        """Ends the stream (STREAM_STOP) and closes the port."""
        self._stop.set()
        if self._thread.ident is None:  # never started: just let go of the port
            self._close()
            return
        self._thread.join(timeout)
        if self._thread.is_alive():
            # The board went silent mid-stream, so the stream is waiting in the client; closing the
            # port under it is the only way to end that wait now.
            dev = self._dev
            if dev is not None:
                try:
                    dev.close()
                except Exception:
                    pass
            self._thread.join(timeout)

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    # ------------------------------------------------------------- the loop

    def _run(self) -> None:
        backoff = BACKOFF_FIRST_S
        try:
            while not self._stop.is_set():
                try:
                    if self._dev is None:
                        if self.hub.status["state"] != "disconnected":  # while retrying, stay "disconnected"
                            self.hub.publish_status("connecting", f"opening {self.port}", **self.counts)
                        self._dev = self._open_device()
                    if self._info is None:
                        self._info = self._dev.hello()
                    self.counts["connects"] += 1
                    self.hub.publish_hello(hello_view(self._info, self.port))
                    self.hub.publish_status("connected", "", **self.counts)
                    backoff = BACKOFF_FIRST_S
                    if self._stream() == "reset":
                        self.counts["resets"] += 1
                        self._info = None  # HELLO again: the board may have come back with other firmware
                        self.hub.publish_status("disconnected", "the board reset", **self.counts)
                except UserError as exc:  # DeviceError and friends: one line that says what happened
                    self._drop(str(exc))
                    if self._stop.wait(backoff):
                        break
                    backoff = min(backoff * 2, BACKOFF_MAX_S)
                except Exception as exc:  # a bug must not kill the demo silently; show it, retry
                    self.warn(f"unexpected {type(exc).__name__}: {exc}")
                    self._drop(f"{type(exc).__name__}: {exc}")
                    if self._stop.wait(BACKOFF_MAX_S):
                        break
        finally:
            self._close()

    def _drop(self, reason: str) -> None:
        if self.hub.status["state"] == "connected":  # a lost link, not one more failed attempt to reopen it
            self.counts["drops"] += 1
        self._close()
        self._info = None
        self.hub.publish_status("disconnected", reason, **self.counts)

    def _close(self) -> None:
        dev, self._dev = self._dev, None
        if dev is not None:
            try:
                dev.close()
            except Exception:
                pass

    def _stream(self) -> str:
        """Stream until stop() ("stop") or a board reset ("reset"); link failures raise."""
        dev, info = self._dev, self._info
        resets_seen = dev.stats.resets
        fps = None
        last = None
        stream = dev.stream(raw=self.raw, max_fps=self.max_fps)
        try:
            for cap in stream:
                if dev.stats.resets != resets_seen:
                    return "reset"  # this capture is already the rebooted board's; HELLO first
                now = time.perf_counter()
                if last is not None and now > last:
                    rate = 1.0 / (now - last)
                    fps = rate if fps is None else (1 - FPS_SMOOTHING) * fps + FPS_SMOOTHING * rate
                last = now
                view = frame_view(self.index, now - self._t0, cap, info, fps)
                if self.saver is not None:
                    self._record(view, cap)
                self.hub.publish_frame(view)
                self.index += 1
                if self._stop.is_set():
                    return "stop"
        finally:
            stream.close()  # STREAM_STOP; a dead link raises here only if the stream ended normally
        return "stop"

    def _record(self, view: dict, cap) -> None:
        from vwwdeploy.apps.monitor import Reading

        scores = np.asarray(cap.result.scores if cap.result is not None else [], dtype=np.int8)
        reading = Reading(
            view["index"],
            view["time_s"],
            view.get("label", "-"),
            float(view["probs"][view["label_index"]]) if cap.result is not None else float("nan"),
            scores,
            view.get("latency_us", 0),
            view.get("instructions", 0),
            view["fps"],
        )
        try:
            self.saver.save(reading, cap.frame, cap.raw)
        except OSError as exc:  # a full disk stops the recording, not the demo
            self.warn(f"recording stopped: {exc}")
            self.saver.close()
            self.saver = None
