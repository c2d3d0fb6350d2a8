"""Model-specialised int8 kernels for the Cortex-M4 (issue 15): read the layers of a .tflite
(`layers`), generate C++ kernels for the ones covered (`generate`)."""
