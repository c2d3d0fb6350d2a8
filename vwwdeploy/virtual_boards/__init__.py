"""Boards without hardware: the Python simulator, QEMU, and the emulated SparkFun Edge (edge/)."""
