"""Reply collectors: what gathers the reply frame(s) of one request into the value the request returns."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from vwwdeploy.data.input_convention import pixel_to_int8
from vwwdeploy.link.protocol import messages as m
from vwwdeploy.link.protocol import pipeline
from vwwdeploy.link.protocol.framing import OVERHEAD, Frame
from vwwdeploy.link.protocol.messages import Result

T = m.MsgType
DONE, MORE, INCOMPLETE = "done", "more", "incomplete"
MISMATCH = object()  # what an INFER_STAGED answered with STAGE_MISMATCH returns


@dataclass
class Capture:
    """One camera frame as the board's pipeline produced it, with its result unless inference was skipped."""

    frame: np.ndarray  # uint8 [H, W] (or [H, W, C] for a colour model): the model input before its int8 mapping
    raw: np.ndarray | None = None  # uint8 [244, 324] when asked for
    result: Result | None = None
    seq: int = 0
    input_table: np.ndarray | None = None  # the board's pixel -> int8 (protocol section 5); None: pixel - 128

    @property
    def input(self) -> np.ndarray:
        """The exact int8 model input the board used."""
        if self.input_table is None:
            return pixel_to_int8(self.frame)
        return self.input_table[self.frame]


class Collector:
    """Gathers the reply frame(s) of one request; `value` is what the request returns."""

    types: tuple[int, ...] = ()

    def __init__(self, seq: int):
        self.seq = seq
        self.value = None

    def reset(self) -> None:
        pass

    def accepts(self, frame: Frame) -> bool:
        return frame.type in self.types

    def feed(self, frame: Frame) -> str:
        raise NotImplementedError


class InfoCollector(Collector):
    types = (T.INFO,)

    def feed(self, frame):
        self.value = m.DeviceInfo.decode(frame.payload)
        return DONE


class ResultCollector(Collector):
    types = (T.RESULT,)

    def feed(self, frame):
        self.value = m.Result.decode(frame.payload, frame.seq)
        return DONE


class StagedResultCollector(Collector):
    """RESULT of an INFER_STAGED, or `MISMATCH` when the board's staging buffer held other bytes."""

    types = (T.RESULT,)

    def accepts(self, frame):
        if frame.type == T.ERROR:
            try:
                return m.ErrorMsg.decode(frame.payload).code == m.ErrorCode.STAGE_MISMATCH
            except m.PayloadError:
                return False
        return frame.type == T.RESULT

    def feed(self, frame):
        self.value = MISMATCH if frame.type == T.ERROR else m.Result.decode(frame.payload, frame.seq)
        return DONE


class ReportCollector(Collector):
    types = (T.REPORT,)

    def feed(self, frame):
        self.value = m.SelftestReport.decode(frame.payload)
        return DONE


class AckCollector(Collector):
    types = (T.ACK,)

    def __init__(self, seq, acked):
        super().__init__(seq)
        self.acked = int(acked)

    def accepts(self, frame):
        return frame.type == T.ACK and frame.payload == bytes([self.acked])

    def feed(self, frame):
        return DONE


def ack_of(type_: int):
    """A collector factory for the ACK of `type_`."""
    return lambda seq: AckCollector(seq, type_)


class CaptureCollector(Collector):
    """FRAME (input), [FRAME (raw)], RESULT of a CAPTURE or one stream group."""

    types = (T.FRAME, T.RESULT)

    def __init__(self, seq, flags: m.CaptureFlags, model_input: m.TensorInfo | None = None):
        super().__init__(seq)
        self.flags = flags
        self.table = None if model_input is None else pipeline.input_table(model_input.scale, model_input.zero_point)
        self.reset()

    def reset(self):
        self.frame = self.raw = self.result = None

    def feed(self, frame):
        if frame.type == T.FRAME:
            image = m.Image.decode(frame.payload)
            px = image.pixels
            if image.kind == m.ImageKind.RAW:
                self.raw = px[:, :, 0]
            else:
                self.frame = px[:, :, 0] if px.shape[2] == 1 else px
        else:
            self.result = m.Result.decode(frame.payload, frame.seq)
        want_raw = bool(self.flags & m.CaptureFlags.RAW)
        want_result = not self.flags & m.CaptureFlags.NO_INFER
        have_all = self.frame is not None and (self.raw is not None or not want_raw)
        if want_result:
            if self.result is None:
                return MORE
            if not have_all:  # a FRAME of this attempt was lost: the RESULT alone is not a capture
                return INCOMPLETE
        elif not have_all:
            return MORE
        self.value = Capture(self.frame, self.raw, self.result, self.seq, self.table)
        return DONE


def frame_pixels(model_input: m.TensorInfo | None) -> int:
    """Bytes of a CAPTURE's model-input FRAME: the model's H x W x C when the camera path makes it, else the
    96x96x1 a board sends instead (protocol section 4); the largest the path makes when the model is unknown."""
    if model_input is None:
        return pipeline.MAX_SIDE * pipeline.MAX_SIDE * 3
    shape = tuple(int(d) for d in model_input.shape)
    if len(shape) == 4 and shape[0] == 1:
        shape = shape[1:]
    if len(shape) == 3 and model_input.dtype == "int8" and pipeline.supports_shape(*shape):
        return shape[0] * shape[1] * shape[2]
    return pipeline.OUT * pipeline.OUT


def group_bytes(flags: m.CaptureFlags, model_input: m.TensorInfo | None = None) -> int:
    """Wire bytes of one CAPTURE answer / STREAM group (model-input FRAME, optional raw FRAME, RESULT)."""
    n = frame_pixels(model_input) + 8 + OVERHEAD
    if flags & m.CaptureFlags.RAW:
        n += m.RAW_FRAME_PIXELS + 8 + OVERHEAD
    if not flags & m.CaptureFlags.NO_INFER:
        n += 14 + 255 + OVERHEAD
    return n


def capture_flags(raw: bool, infer: bool) -> m.CaptureFlags:
    flags = m.CaptureFlags.NONE
    if raw:
        flags |= m.CaptureFlags.RAW
    if not infer:
        flags |= m.CaptureFlags.NO_INFER
    return flags
