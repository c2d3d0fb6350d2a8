"""`Hub`: the demo's shared state and its fan-out to every open page (Server-Sent Events).

The board thread publishes; each page's HTTP thread drains its own `Subscription`. Events are
serialised once, at publish time, as ready-to-send SSE bytes. A page that falls behind (a slow
browser, a background tab) loses old *frames* only: a newer frame supersedes them, whereas
status and HELLO events are never dropped, so a page can be late but never wrong about the link.
"""

from __future__ import annotations

import json
import threading
from collections import deque
from dataclasses import dataclass

HISTORY = 60  # results the timeline shows (and a page that connects late receives)
MAX_PENDING_FRAMES = 2  # per page; older unsent frames are dropped when a newer one arrives


@dataclass(frozen=True)
class Event:
    kind: str  # "hello" | "status" | "frame" | "history"
    data: bytes  # the whole SSE message: "event: ...\ndata: ...\n\n"

    @classmethod
    def make(cls, kind: str, payload) -> "Event":
        body = json.dumps(payload, separators=(",", ":"), allow_nan=False)
        return cls(kind, f"event: {kind}\ndata: {body}\n\n".encode())


class Subscription:
    """One page's queue of events not yet sent."""

    def __init__(self, hub: "Hub"):
        self._hub = hub
        self._pending: deque[Event] = deque()
        self.dropped_frames = 0

    def _push(self, event: Event) -> None:  # called with the hub's lock held
        if event.kind == "frame":
            frames = [e for e in self._pending if e.kind == "frame"]
            for old in frames[: max(0, len(frames) - MAX_PENDING_FRAMES + 1)]:
                self._pending.remove(old)
                self.dropped_frames += 1
        self._pending.append(event)

    def next(self, timeout: float) -> Event | None:
        """The next event, or None after `timeout` seconds without one (or once the hub closed)."""
        with self._hub._cond:
            if not self._pending and not self._hub.closed:
                self._hub._cond.wait(timeout)
            return self._pending.popleft() if self._pending else None

    def close(self) -> None:
        with self._hub._cond:
            self._hub._subs.discard(self)


class Hub:
    """Latest HELLO, link status, last frame and the recent results; fans events out to subscribers."""

    def __init__(self, history: int = HISTORY):
        self._cond = threading.Condition()
        self._subs: set[Subscription] = set()
        self.closed = False
        self.hello: dict | None = None
        self.status: dict = {"state": "connecting", "reason": "", "connects": 0, "resets": 0, "drops": 0}
        self.last_frame: dict | None = None
        self.history: deque[dict] = deque(maxlen=history)
        self.frames = 0
        self._events: dict[str, Event] = {}

    # ------------------------------------------------------------- publishing (board thread)

    def publish_hello(self, hello: dict) -> None:
        with self._cond:
            self.hello = hello
            self._send(Event.make("hello", hello))

    def publish_status(self, state: str, reason: str = "", **counts: int) -> None:
        with self._cond:
            self.status = {**self.status, **counts, "state": state, "reason": reason}
            self._send(Event.make("status", self.status))

    def publish_frame(self, frame: dict) -> None:
        """`frame` carries the pixels; the history keeps everything else (what the timeline needs)."""
        with self._cond:
            self.frames += 1
            self.last_frame = frame
            self.history.append({k: v for k, v in frame.items() if k not in ("pixels", "raw")})
            self._send(Event.make("frame", frame))

    def _send(self, event: Event) -> None:
        self._events[event.kind] = event  # latest of each kind, for pages that connect later
        for sub in self._subs:
            sub._push(event)
        self._cond.notify_all()

    def close(self) -> None:
        with self._cond:
            self.closed = True
            self._cond.notify_all()

    # ------------------------------------------------------------- reading (HTTP threads)

    def subscribe(self) -> Subscription:
        """A new page: it first receives HELLO, the status, the recent results and the last frame."""
        sub = Subscription(self)
        with self._cond:
            if "hello" in self._events:
                sub._push(self._events["hello"])
            sub._push(Event.make("status", self.status))
            sub._push(Event.make("history", list(self.history)))
            if "frame" in self._events:
                sub._push(self._events["frame"])
            self._subs.add(sub)
        return sub

    def snapshot(self) -> dict:
        """Everything but pixels, as JSON-able data (GET /state)."""
        with self._cond:
            last = None
            if self.last_frame is not None:
                last = {k: v for k, v in self.last_frame.items() if k not in ("pixels", "raw")}
            return {
                "hello": self.hello,
                "status": dict(self.status),
                "frames": self.frames,
                "last_frame": last,
                "pages": len(self._subs),
            }
