"""Model, preprocessing, batch order and the compiled train step (EMA / batch-norm warm-up)."""

from __future__ import annotations

import numpy as np
import pytest

from vwwdeploy.training.pipeline import BatchIndexer
from vwwdeploy.training.preprocess import augment_batch, eval_images, to_float, to_int8


def test_mobilenet_v1_025_matches_the_person_detector():
    from vwwdeploy.training.model import build_mobilenet_v1

    model = build_mobilenet_v1()
    assert model.input_shape == (None, 96, 96, 1)
    assert model.output_shape == (None, 2)
    assert model.count_params() == 218_914  # slim mobilenet_v1_025, 2 classes, incl. batch-norm statistics
    kinds = [type(layer).__name__ for layer in model.layers]
    assert kinds.count("DepthwiseConv2D") == 13 and kinds.count("Conv2D") == 15
    assert kinds[-4:] == ["AveragePooling2D", "Conv2D", "Reshape", "Softmax"]
    assert all(layer.max_value == 6.0 for layer in model.layers if type(layer).__name__ == "ReLU")


@pytest.mark.parametrize("width,size,channels", [(0.5, 96, 1), (0.25, 128, 3), (0.25, 32, 1)])
def test_model_options(width, size, channels):
    from vwwdeploy.training.model import build_mobilenet_v1

    model = build_mobilenet_v1(width, size, channels)
    assert model.input_shape == (None, size, size, channels)
    out = model(np.zeros((2, size, size, channels), np.float32))
    np.testing.assert_allclose(np.asarray(out).sum(axis=1), 1.0, rtol=1e-5)


def test_eval_images_are_slim_central_crop_and_bilinear_resize():
    import tensorflow as tf

    images = np.random.default_rng(0).integers(0, 256, (3, 128, 128), dtype=np.uint8)
    ours = eval_images(images, 96)
    crop = tf.image.central_crop(tf.constant(images[..., None], tf.float32), 0.875)
    ref = np.clip(np.rint(tf.image.resize(crop, [96, 96]).numpy()), 0, 255)
    assert ours.shape == (3, 96, 96, 1) and ours.dtype == np.uint8
    assert np.abs(ours.astype(int) - ref).max() <= 1  # float rounding at .5 only
    assert np.mean(ours == ref) > 0.99


def test_int8_input_is_the_quantization_of_the_float_input():
    pixels = np.arange(256, dtype=np.uint8)
    x, q = to_float(pixels), to_int8(pixels)
    assert x.min() == -1.0 and x.max() == 1.0
    np.testing.assert_array_equal(q.astype(int), np.arange(256) - 128)
    # Dequantized with the export's scale 2/255 and zero point -1, within half a step of the float input.
    assert np.abs((q.astype(float) + 1) * (2 / 255) - x).max() <= (1 / 255) + 1e-6


def test_augmentation_is_seeded_by_step():
    images = np.random.default_rng(1).integers(0, 256, (4, 48, 48), dtype=np.uint8)
    a = augment_batch(images, [0, 7], 32).numpy()
    b = augment_batch(images, [0, 7], 32).numpy()
    c = augment_batch(images, [0, 8], 32).numpy()
    assert a.shape == (4, 32, 32, 1) and a.min() >= -1.0 and a.max() <= 1.0
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    plain = augment_batch(images, [0, 0], 32, augment=False).numpy()
    np.testing.assert_allclose(plain, to_float(eval_images(images, 32)), atol=1.5 / 127.5)


def test_batch_order_covers_each_epoch_and_restarts_identically():
    indexer = BatchIndexer(count=10, batch_size=4, seed=3)
    stream = np.concatenate([indexer.indices(s) for s in range(5)])  # 20 examples = 2 epochs
    assert sorted(stream[:10]) == list(range(10)) and sorted(stream[10:]) == list(range(10))
    fresh = BatchIndexer(count=10, batch_size=4, seed=3)
    np.testing.assert_array_equal(fresh.indices(3), indexer.indices(3))
    assert not np.array_equal(BatchIndexer(10, 4, seed=4).indices(0), indexer.indices(0))


def test_train_step_warms_up_moving_averages_like_slim():
    from vwwdeploy.training.config import TrainConfig
    from vwwdeploy.training.loop import Trainer

    config = TrainConfig(image_size=32, batch_size=4, train_examples=8)
    trainer = Trainer(config)
    before = [w.numpy().copy() for w in trainer.model.weights]
    x = np.random.default_rng(0).uniform(-1, 1, (4, 32, 32, 1)).astype(np.float32)
    y = np.array([0, 1, 0, 1])
    trainer.train_step(x, y)
    assert trainer.step == 1
    # slim's ExponentialMovingAverage(num_updates=step): decay = min(0.9999, (1 + 0) / (10 + 0)) = 0.1
    target = trainer.model.get_layer("logits").kernel
    kernel = next(i for i, w in enumerate(trainer.model.weights) if w is target)
    after = trainer.model.weights[kernel].numpy()
    assert not np.allclose(after, before[kernel])
    np.testing.assert_allclose(trainer.ema[kernel].numpy(), 0.1 * before[kernel] + 0.9 * after, rtol=1e-5, atol=1e-7)
    # batch-norm statistics moved with the same warm-up (momentum 0.1), not slim's long-run 0.9997
    bn = trainer.model.get_layer("conv_0_bn")
    assert abs(float(trainer.bn_momentum.numpy()) - 0.1) < 1e-6
    assert np.abs(bn.moving_mean.numpy()).max() > 1e-3
