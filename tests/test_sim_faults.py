"""Reliability on a noisy link (issue 4): with per-byte drop/flip/insert and board resets mid-run,
every image gets exactly one accepted result, equal to the fault-free one; nothing hangs.

Arithmetic that sets the test sizes: at a per-byte fault rate p a frame of n bytes arrives intact
with probability (1 - p)^n. At p = 1e-3 a 32x32 INFER (1,048 bytes) gets through ~35% of the time,
a 96x96 one (9,232 bytes) only ~0.01%: no protocol that retries whole frames can carry 96x96 images
over that line. Staged transfer can: 256-byte STAGE chunks (276-byte frames) arrive ~76% of the
time and are retried one by one. So the whole-frame tests (staging="never") use 32x32 at p = 1e-3
and 96x96 at p = 1e-4 (~40% per attempt); the issue's case, the upstream 96x96 model at p = 1e-3
with resets, runs with the client's default staging="auto", which switches to staged transfer.
"""

from __future__ import annotations

import numpy as np
import pytest

from vwwdeploy.link import Device
from vwwdeploy.model.tflm_twin import TflmTwin
from vwwdeploy.virtual_boards.sim import FaultConfig, start_sim_in_thread


def _run(model, xs, rate, reset_every, seed, retries, staging="never", timeout=0.5):
    with TflmTwin(model) as twin:
        clean = twin.invoke_many(xs[:, None]).reshape(len(xs), -1)
    url, stop = start_sim_in_thread(model, faults=FaultConfig.uniform(rate, reset_every, seed))
    try:
        with Device(url, timeout=timeout, retries=retries, staging=staging) as dev:
            results = dev.infer_many(list(xs))
            stats = dev.stats
        board = stop.board
        return clean, results, stats, board
    finally:
        stop()


def _check(clean, results, stats, board, n, whole_frames=True):
    assert len(results) == n  # exactly one accepted result per image, in order
    for i, r in enumerate(results):
        assert np.array_equal(r.scores, clean[i]), f"image {i}: accepted {r.scores}, fault-free {clean[i]}"
    assert [r.seq for r in results] == sorted({r.seq for r in results})  # one seq each, no duplicates
    faults = board._rx_faults, board._tx_faults
    assert sum(f.dropped for f in faults) and sum(f.flipped for f in faults) and sum(f.inserted for f in faults)
    assert board.counters["resets"] >= 1 and stats.resets >= 1
    assert stats.retries > 0 and stats.crc_errors > 0
    if whole_frames:
        assert stats.requests == n and stats.chunks_sent == 0 and board.counters["staged_chunks"] == 0


def test_noisy_link_with_resets_upstream_model_staged(upstream_model):
    """The issue's case: 96x96 at p = 1e-3 with resets. Whole frames fail twice, the client switches to
    staged transfer, and every image still gets exactly one result equal to the fault-free twin's."""
    n = 12
    xs = np.random.default_rng(13).integers(-128, 128, size=(n, 96, 96, 1), dtype=np.int8)
    clean, results, stats, board = _run(
        upstream_model, xs, rate=1e-3, reset_every=100, seed=5, retries=40, staging="auto", timeout=0.3
    )
    _check(clean, results, stats, board, n, whole_frames=False)
    assert stats.staging_switches == 1
    assert stats.staged_requests >= n and board.counters["staged_inferences"] >= n
    assert stats.chunks_sent >= n * 36 and stats.chunk_retries > 0  # 9,216 bytes = 36 chunks of 256
    assert stats.restages >= 1  # a reset (or a mismatch after one whose INFO was lost) meant staging again


def test_noisy_link_with_resets_small_model():
    from vwwdeploy.testing.tiny_models import tiny_model

    model = tiny_model("int8")
    n = 60
    xs = np.random.default_rng(11).integers(-128, 128, size=(n, 32, 32, 1), dtype=np.int8)
    clean, results, stats, board = _run(model, xs, rate=1e-3, reset_every=25, seed=3, retries=40, staging="never")
    _check(clean, results, stats, board, n)


def test_noisy_link_with_resets_upstream_model(upstream_model):
    n = 24
    xs = np.random.default_rng(12).integers(-128, 128, size=(n, 96, 96, 1), dtype=np.int8)
    clean, results, stats, board = _run(
        upstream_model, xs, rate=1e-4, reset_every=15, seed=4, retries=40, staging="never"
    )
    _check(clean, results, stats, board, n)


def test_stream_survives_noise_and_a_reset(upstream_model):
    """STREAM on a noisy link: damaged groups are dropped, never half-delivered; a reset restarts it."""
    url, stop = start_sim_in_thread(upstream_model, faults=FaultConfig.uniform(2e-5, 0, 5))
    caps = []
    try:
        with Device(url, timeout=0.5, retries=40) as dev:
            for cap in dev.stream(count=16):
                caps.append(cap)
                if len(caps) == 4:
                    stop.board.reset()
            stats = dev.stats
    finally:
        stop()
    # More than the 4 before the reset (plus the few in flight) means the client restarted the stream:
    # on the boot INFO, or (if noise ate it) after the silence. START, START again, STOP at least.
    assert 8 <= len(caps) <= 16 and stop.board.counters["resets"] == 1 and stats.requests >= 3
    with TflmTwin(upstream_model) as twin:
        for cap in caps:
            assert np.array_equal(cap.result.scores, twin.invoke(cap.input[None, :, :, None]).reshape(-1))


@pytest.mark.parametrize("rate", [0.0, 1e-3])
def test_fault_injector_counts_and_rates(rate):
    from vwwdeploy.virtual_boards.sim.faults import ByteFaults

    inj = ByteFaults(FaultConfig.uniform(rate, seed=1), 0)
    data = bytes(range(256)) * 400
    out = inj.apply(data)
    total = inj.dropped + inj.flipped + inj.inserted
    assert len(out) == len(data) - inj.dropped + inj.inserted
    if rate == 0:
        assert out == data and total == 0
    else:
        assert 0.5 * rate * len(data) < total < 1.5 * rate * len(data)
        assert inj.dropped and inj.flipped and inj.inserted
