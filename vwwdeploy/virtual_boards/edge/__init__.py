"""The emulated SparkFun Edge: the exact `sparkfun_edge*` firmware image on a Cortex-M4 (unicorn) with the Apollo3
peripherals it touches modelled from the pinned SDK's SVD and HAL sources (docs/emulation.md)."""
