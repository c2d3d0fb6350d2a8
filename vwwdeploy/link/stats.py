"""Counters of one link, so reports can say how hard the link had to work."""

from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass
class LinkStats:
    requests: int = 0  # distinct requests (a retried request counts once)
    retries: int = 0  # resends of a request (after a timeout, BAD_CRC or a board reset)
    timeouts: int = 0  # attempts that got no complete answer in time
    crc_errors: int = 0  # frames we rejected (bad frame CRC) + BAD_CRC errors the board sent
    stale_frames: int = 0  # valid frames that answered nothing pending (late replies to retried attempts...)
    garbage_bytes: int = 0  # received bytes outside any accepted frame
    resets: int = 0  # unsolicited boot INFO frames seen
    logs: int = 0
    stream_groups_dropped: int = 0  # incomplete FRAME/RESULT groups of a stream
    bytes_sent: int = 0
    bytes_received: int = 0
    payload_bytes_sent: int = 0  # payloads of frames we sent (retries included)
    payload_bytes_received: int = 0  # payloads of frames we accepted
    # Staged transfer (docs/protocol.md): images sent as STAGE chunks + INFER_STAGED on a noisy link.
    staged_requests: int = 0  # INFER_STAGED requests (a restaged image asks again: counted again)
    chunks_sent: int = 0  # STAGE frames written, resends included
    chunk_retries: int = 0  # resends of a STAGE (timeout, BAD_CRC, board reset)
    restages: int = 0  # images staged again after STAGE_MISMATCH or a board reset
    staging_switches: int = 0  # times `staging="auto"` gave up whole frames (0 or 1 per session)
    staging_fallbacks: int = 0  # times "auto" went back to whole frames: resets kept emptying the staging buffer

    def as_dict(self) -> dict[str, int]:
        return asdict(self)
