"""Property tests of the frame decoder: no crash, never a frame with a wrong CRC, encode round-trips."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vwwdeploy.link.protocol.framing import MAX_PAYLOAD, FrameDecoder, encode_frame

frames = st.builds(
    lambda t, s, p: (t, s, p),
    st.integers(0, 255),
    st.integers(0, 0xFFFF),
    st.binary(max_size=300),
)


def _mutate(data: bytes, ops) -> bytes:
    b = bytearray(data)
    for kind, pos, value in ops:
        if not b:
            break
        i = pos % len(b)
        if kind == 0:
            del b[i]
        elif kind == 1:
            b[i] ^= 1 << (value % 8)
        else:
            b.insert(i, value)
    return bytes(b)


ops = st.lists(st.tuples(st.integers(0, 2), st.integers(0, 10**6), st.integers(0, 255)), max_size=8)
SETTINGS = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _decode_in_chunks(data: bytes, cuts: list[int]):
    dec = FrameDecoder()
    out, last = [], 0
    for cut in sorted(c % (len(data) + 1) for c in cuts) + [len(data)]:
        out += dec.feed(data[last:cut])
        last = cut
    out += dec.timeout()
    return out, dec


@SETTINGS
@given(st.lists(frames, max_size=6), st.binary(max_size=64), ops, st.lists(st.integers(0, 10**6), max_size=5))
def test_decoder_never_accepts_a_frame_that_was_not_sent_intact(items, noise, mutations, cuts):
    encoded = [encode_frame(t, s, p) for t, s, p in items]
    stream = _mutate(noise + b"".join(encoded), mutations)
    got, dec = _decode_in_chunks(stream, cuts)
    for frame in got:
        wire = encode_frame(frame.type, frame.seq, frame.payload)
        # Its CRCs are right by construction of `wire`; it must be literally in the stream.
        assert wire in stream
    assert dec.garbage_bytes + sum(len(f.payload) + 16 for f in got) == len(stream)
    if not mutations:
        # Intact frames after any noise all come out, in order (noise may add frames before them).
        tail = [(f.type, f.seq, f.payload) for f in got[len(got) - len(items) :]] if items else []
        assert tail == list(items)


@SETTINGS
@given(st.binary(max_size=2000), st.lists(st.integers(0, 10**6), max_size=5))
def test_decoder_survives_arbitrary_bytes(data, cuts):
    got, dec = _decode_in_chunks(data, cuts)
    assert dec.pending == 0
    for frame in got:
        assert encode_frame(frame.type, frame.seq, frame.payload) in data


@SETTINGS
@given(frames)
def test_round_trip(item):
    t, s, p = item
    (frame,) = FrameDecoder().feed(encode_frame(t, s, p))
    assert (frame.type, frame.seq, frame.payload) == item


@SETTINGS
@given(st.integers(0, 12), st.binary(max_size=40))
def test_sync_heavy_noise(n_sync, junk):
    noise = b"VW" * n_sync + junk + b"V"
    good = encode_frame(0x82, 7, b"\x01\x02")
    got, _ = _decode_in_chunks(noise + good, [])
    assert got and (got[-1].type, got[-1].seq, got[-1].payload) == (0x82, 7, b"\x01\x02")


def test_max_payload_frame_and_limit():
    data = encode_frame(0x83, 1, bytes(MAX_PAYLOAD))
    (frame,) = FrameDecoder().feed(data)
    assert len(frame.payload) == MAX_PAYLOAD
    try:
        encode_frame(0x83, 1, bytes(MAX_PAYLOAD + 1))
    except ValueError:
        pass
    else:
        raise AssertionError("encode_frame accepted a payload over MAX_PAYLOAD")


@SETTINGS
@given(st.lists(frames, max_size=6), ops, st.lists(st.integers(0, 10**6), max_size=5), st.integers(0, 300))
def test_device_side_decoder_with_a_small_limit(items, mutations, cuts, limit):
    """A board's receiver (accept_limit = its max payload) skips oversized frames without buffering them."""
    events = []
    dec = FrameDecoder(
        accept_limit=limit, on_bad_crc=events.append, on_too_large=events.append, on_abandoned=events.append
    )
    stream = _mutate(b"".join(encode_frame(t, s, p) for t, s, p in items), mutations)
    got, last = [], 0
    for cut in sorted(c % (len(stream) + 1) for c in cuts) + [len(stream)]:
        got += dec.feed(stream[last:cut])
        assert len(dec._buf) <= max(limit, 0) + 16 + len(stream[last:cut])
        last = cut
    got += dec.timeout()
    for frame in got:
        assert len(frame.payload) <= limit and encode_frame(frame.type, frame.seq, frame.payload) in stream
    if not mutations:
        assert [(f.type, f.seq, f.payload) for f in got] == [i for i in items if len(i[2]) <= limit]
        assert dec.oversized_frames == sum(len(i[2]) > limit for i in items)
