"""MobileNetV1 as slim builds it (`mobilenet_v1_025` for the person detector), in Keras 3.

Layout: a 3x3/2 convolution, then 13 depthwise-separable blocks (3x3 depthwise + 1x1 pointwise), each
convolution followed by batch norm and ReLU6, all with SAME padding. Channel counts are slim's
(32, 64, 128, 128, 256, 256, 512 x6, 1024, 1024) times the width multiplier, never below 8.

The head is the upstream person detector's: average pool over the whole final feature map, a 1x1
convolution with bias producing the logits, reshape to [batch, classes], softmax. After batch norm folding
the TFLite graph therefore holds only AVERAGE_POOL_2D, CONV_2D, DEPTHWISE_CONV_2D, RESHAPE and SOFTMAX.
slim's head also has dropout (keep 0.999); it is left out: it does nothing at inference time and its effect
on training at that rate is negligible.
"""

from __future__ import annotations

import math

import keras
from keras import layers

# (stride, output channels at width 1.0) of each depthwise-separable block, as slim's MOBILENETV1_CONV_DEFS.
SEPARABLE_BLOCKS = [
    (1, 64),
    (2, 128),
    (1, 128),
    (2, 256),
    (1, 256),
    (2, 512),
    (1, 512),
    (1, 512),
    (1, 512),
    (1, 512),
    (1, 512),
    (2, 1024),
    (1, 1024),
]
FIRST_CONV_CHANNELS = 32
MIN_DEPTH = 8
# slim's mobilenet_v1_arg_scope batch norm: epsilon 0.001 (its decay 0.9997 is applied by the train loop,
# see loop.bn_momentum).
BN_EPSILON = 0.001
BN_DECAY = 0.9997
LOGITS_LAYER = "logits_flat"


def depth(channels: int, width: float) -> int:
    return max(int(channels * width), MIN_DEPTH)


def feature_map_size(image_size: int) -> int:
    """Spatial size after the 5 stride-2 stages with SAME padding (96 -> 3)."""
    size = image_size
    for _ in range(5):
        size = math.ceil(size / 2)
    return size


def build_mobilenet_v1(
    width: float = 0.25,
    image_size: int = 96,
    channels: int = 1,
    num_classes: int = 2,
    weight_decay: float = 4e-5,
    batch_size: int | None = None,
) -> keras.Model:
    """The classifier: float input in [-1, 1] [batch, H, W, C] -> class probabilities [batch, classes].

    `weight_decay` is slim's L2 on the regular (not depthwise) convolution kernels; slim adds
    weight_decay * sum(w^2) / 2 (tf.nn.l2_loss), Keras' L2(l) adds l * sum(w^2), hence the half.
    `batch_size=1` gives the export graph (static shapes, so reshape needs no shape arithmetic).
    """
    if image_size < 32:
        raise ValueError(f"image size {image_size} is too small for MobileNetV1 (at least 32)")
    reg = keras.regularizers.L2(weight_decay / 2) if weight_decay else None

    def conv_bn(x, filters, kernel, stride, name):
        x = layers.Conv2D(
            filters, kernel, strides=stride, padding="same", use_bias=False, kernel_regularizer=reg, name=name
        )(x)
        x = layers.BatchNormalization(epsilon=BN_EPSILON, momentum=BN_DECAY, name=f"{name}_bn")(x)
        return layers.ReLU(6.0, name=f"{name}_relu6")(x)

    def depthwise_bn(x, stride, name):
        x = layers.DepthwiseConv2D(3, strides=stride, padding="same", use_bias=False, name=name)(x)
        x = layers.BatchNormalization(epsilon=BN_EPSILON, momentum=BN_DECAY, name=f"{name}_bn")(x)
        return layers.ReLU(6.0, name=f"{name}_relu6")(x)

    inputs = keras.Input(shape=(image_size, image_size, channels), batch_size=batch_size, name="image")
    x = conv_bn(inputs, depth(FIRST_CONV_CHANNELS, width), 3, 2, "conv_0")
    for i, (stride, filters) in enumerate(SEPARABLE_BLOCKS, start=1):
        x = depthwise_bn(x, stride, f"conv_{i}_depthwise")
        x = conv_bn(x, depth(filters, width), 1, 1, f"conv_{i}_pointwise")
    fm = feature_map_size(image_size)
    x = layers.AveragePooling2D(pool_size=fm, strides=fm, padding="valid", name="avg_pool")(x)
    x = layers.Conv2D(num_classes, 1, use_bias=True, kernel_regularizer=reg, name="logits")(x)
    logits = layers.Reshape((num_classes,), name=LOGITS_LAYER)(x)
    probs = layers.Softmax(name="predictions")(logits)
    return keras.Model(inputs, probs, name=f"mobilenet_v1_{width:g}_{image_size}")


def logits_model(model: keras.Model) -> keras.Model:
    """A view of `model` (shared layers and weights) that outputs the logits, for a stable loss."""
    return keras.Model(model.inputs, model.get_layer(LOGITS_LAYER).output, name=f"{model.name}_logits")


def batch_norm_layers(model: keras.Model) -> list:
    return [layer for layer in model.layers if isinstance(layer, layers.BatchNormalization)]
