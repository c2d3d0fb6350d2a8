"""The emulated SparkFun Edge: the exact Edge firmware image on a Cortex-M4 core (unicorn) with the Apollo3
peripherals it touches modelled in Python from the SDK's SVD and HAL sources (docs/emulation.md)."""
