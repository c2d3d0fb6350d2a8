"""Training MobileNetV1 person detectors the way the seed's tf.slim run did, on Keras 3 / TensorFlow.

Modules: `config` (TrainConfig, defaults), `model` (MobileNetV1), `preprocess` (train augmentation and
eval preprocessing), `pipeline` (input batches from the dataset store), `ema` (slim-style moving averages),
`checkpoint` (atomic save, exact resume, load_float_model), `loop` (the train loop).
Heavy imports (TensorFlow, Keras) happen inside these modules, never in `vwwdeploy.commands`.
"""
