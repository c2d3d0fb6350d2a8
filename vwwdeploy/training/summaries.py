"""TensorBoard summaries written with TensorFlow's own summary writer.

tensorflow-cpu no longer depends on the `tensorboard` package, whose tf.summary.scalar/image wrappers are
therefore missing. The event format itself is TensorFlow's: we write the same records those wrappers write
(plugin "scalars": a float32 scalar; plugin "images": [width, height, png...] strings), so TensorBoard
(`pip install tensorboard; tensorboard --logdir TRAIN_DIR`) shows them as usual.
"""

from __future__ import annotations


def _metadata(plugin: str):
    from tensorflow.core.framework import summary_pb2

    meta = summary_pb2.SummaryMetadata()
    meta.plugin_data.plugin_name = plugin
    return meta.SerializeToString()


def scalar(tag: str, value, step: int) -> None:
    import tensorflow as tf

    tf.summary.write(tag, tf.cast(value, tf.float32), step=step, metadata=_metadata("scalars"))


def images(tag: str, batch, step: int, max_outputs: int = 3) -> None:
    """batch: float [B, H, W, C] in [0, 1]."""
    import tensorflow as tf

    batch = tf.convert_to_tensor(batch)[:max_outputs]
    pixels = tf.cast(tf.round(tf.clip_by_value(batch, 0.0, 1.0) * 255.0), tf.uint8)
    encoded = tf.map_fn(tf.image.encode_png, pixels, fn_output_signature=tf.string)
    shape = tf.shape(batch)
    tensor = tf.concat([[tf.as_string(shape[2]), tf.as_string(shape[1])], encoded], axis=0)
    tf.summary.write(tag, tensor, step=step, metadata=_metadata("images"))


def read_tags(train_dir) -> dict[str, list[int]]:
    """{tag: [steps]} of every event file in `train_dir` (for tests and `vwwdeploy` itself)."""
    from pathlib import Path

    import tensorflow as tf
    from tensorflow.core.util import event_pb2

    tags: dict[str, list[int]] = {}
    for path in sorted(Path(train_dir).glob("events.out.tfevents.*")):
        for record in tf.data.TFRecordDataset(str(path)):
            event = event_pb2.Event.FromString(record.numpy())
            for value in event.summary.value:
                tags.setdefault(value.tag, []).append(int(event.step))
    return tags
