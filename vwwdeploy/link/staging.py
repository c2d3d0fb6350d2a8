"""When a `Device` sends images as STAGE chunks + INFER_STAGED instead of whole INFER frames.

`StagingPolicy` holds the state of that choice and answers the exchange's questions with decisions
(resend, switch, restage, go back to whole frames) instead of raising exceptions deep inside it.
"""

from __future__ import annotations

import enum

from vwwdeploy.link.protocol import messages as m

T = m.MsgType
STAGING_MODES = ("auto", "always", "never")
STAGE_CHUNK = 256  # bytes per STAGE: at p = 1e-3 a 276-byte frame arrives intact 76% of the time
SWITCH_AFTER_FAILURES = 2  # staging="auto": a request that failed this often means the link is noisy
STAGE_RETRY_FACTOR = 4  # a STAGE costs 1/36 of a 96x96 frame's wire time: it may be resent 4x as often
FALL_BACK_AFTER_RESETS = 2  # staging="auto": an image whose staging resets cut short this often goes whole


class Decision(enum.Enum):
    RESEND = "resend"  # send the request(s) again
    SWITCH_TO_STAGED = "switch to staged"  # stop the whole-frame exchange: the link is too noisy
    RESTAGE = "restage"  # stop the staged exchange: the board reset and emptied its staging buffer
    WHOLE_FRAMES = "whole frames"  # give staging up: resets keep cutting it short


class StagingPolicy:
    def __init__(self, mode: str):
        self.mode = mode
        self.staged = False  # images go as STAGE chunks + INFER_STAGED
        self.unsupported = False  # "auto" found a board without capability bit 3, or gave staging up
        self._armed = False  # a whole-frame exchange may switch
        self._staging_now = False  # a staged exchange is running: a reset means restage

    # -- the exchange asks

    def after_failure(self, request_type: int, failures: int, corrupted: bool = True) -> Decision:
        """An attempt timed out or came back BAD_CRC. Only a corrupting link is worth staging for: on a
        slow but clean one (no bad CRC, no garbage) chunks would wait just as long, in more requests."""
        if self._armed and corrupted and request_type == T.INFER and failures >= SWITCH_AFTER_FAILURES:
            return Decision.SWITCH_TO_STAGED
        return Decision.RESEND

    def after_reset(self) -> Decision:
        """A boot INFO arrived while requests were in flight."""
        return Decision.RESTAGE if self._staging_now else Decision.RESEND

    # -- the device tells

    def whole_frames(self, running: bool) -> None:
        """A whole-frame exchange starts (running=True) or ends."""
        self._armed = running and self.mode == "auto" and not self.unsupported

    def staging(self, running: bool) -> None:
        self._staging_now = running

    def start_staged(self) -> bool:
        """staging="always" and not staged yet: the caller must check the board supports it first."""
        return self.mode == "always" and not self.staged

    def switched(self, capabilities: int) -> bool:
        """After SWITCH_TO_STAGED: stage from now on if the board can, else keep whole frames for good."""
        if capabilities & m.Capability.STAGED:
            self.staged = True
            return True
        self.unsupported = True  # an older firmware: keep sending whole frames, as before
        return False

    def after_cut_short(self, cut_short: int) -> Decision:
        """A board reset emptied the staging buffer `cut_short` stagings in a row."""
        if cut_short >= FALL_BACK_AFTER_RESETS and self.mode == "auto":
            # A board that resets faster than one image can be staged (a crash loop, or the sim's
            # --reset-every): whole frames have the better chance; no switching again.
            self.staged, self.unsupported = False, True
            return Decision.WHOLE_FRAMES
        return Decision.RESTAGE


def chunks(data: bytes) -> list[tuple[int, bytes]]:
    return [(off, data[off : off + STAGE_CHUNK]) for off in range(0, len(data), STAGE_CHUNK)]
