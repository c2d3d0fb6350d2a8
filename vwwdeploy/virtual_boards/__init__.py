"""Boards without hardware: the simulated board, QEMU's mps2-an386, the emulated SparkFun Edge."""
