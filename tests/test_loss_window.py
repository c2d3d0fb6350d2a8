"""The closing summary's loss is the mean of the first and last steps, not one noisy batch at each end."""

from __future__ import annotations

from vwwdeploy.training.loss_window import LossWindow, describe


def test_noisy_last_batch_does_not_hide_a_falling_loss():
    window = LossWindow(size=20)
    # Falls from ~0.7 to ~0.3, but the very first batch was lucky and the very last unlucky.
    losses = [0.5] + [0.7] * 19 + [0.5] * 260 + [0.3] * 19 + [0.9]
    for loss in losses:
        window.add(loss)
    s = window.summary()
    assert s["window"] == 20 and s["steps"] == 300
    assert abs(s["first"] - (0.5 + 0.7 * 19) / 20) < 1e-9
    assert abs(s["last"] - (0.3 * 19 + 0.9) / 20) < 1e-9
    assert s["last"] < s["first"]  # while losses[-1] > losses[0]
    assert describe(s) == "loss 0.690 -> 0.330 (mean of the first and last 20 steps)"


def test_short_run_windows_do_not_overlap():
    window = LossWindow(size=20)
    for loss in (4.0, 3.0, 2.0, 1.0, 0.0):
        window.add(loss)
    s = window.summary()
    assert s["window"] == 2
    assert (s["first"], s["last"]) == (3.5, 0.5)


def test_one_step_and_no_step():
    window = LossWindow()
    assert window.summary() is None
    assert describe(None) == "loss: no training step ran"
    window.add(0.25)
    assert describe(window.summary()) == "loss 0.250 -> 0.250 (mean of the first and last step)"


def test_values_are_read_only_at_the_end():
    class Lazy:  # stands for a tensor: converting it is the (device-syncing) read
        reads = 0

        def __float__(self):
            Lazy.reads += 1
            return 1.0

    window = LossWindow(size=3)
    for _ in range(100):
        window.add(Lazy())
    assert Lazy.reads == 0
    assert window.summary()["first"] == 1.0
    assert Lazy.reads == 6
