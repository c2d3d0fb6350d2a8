"""Training MobileNetV1 person detectors the way the seed's tf.slim run did, on Keras 3 / TensorFlow.

Modules: `config` (TrainConfig, defaults), `model` (MobileNetV1), `preprocess` (train augmentation and
eval preprocessing), `pipeline` (input batches from the dataset store), `ema` (slim-style moving averages),
`checkpoint` (atomic save, exact resume, load_float_model), `loop` (the train loop).
`evaluation` (accuracy of a checkpoint), `import_tflite` (an int8 .tflite back into a train dir), `export`
(a train dir -> int8 .tflite, calibrated and checked against the TFLM twin).
Heavy imports (TensorFlow, Keras) happen inside these modules, never in `vwwdeploy.commands`.
May import: the root basics, `data`, `model` (the .tflite reader and the TFLM twin).
"""
