"""Flashing the SparkFun Edge from Python: the Ambiq secure bootloader (ASB) and SparkFun's SVL.

Public API: `flash(path, port=None, protocol=None, baud=None, ...) -> FlashResult` (see flasher.py).
Formats live in `asb_image`, wire protocols in `asb_protocol` / `svl_protocol`; the simulated bootloaders the tests
flash are in `vwwdeploy.testing` (`sim_asb` / `sim_svl`); the port opener is `vwwdeploy.link.port`.
"""

from vwwdeploy.link.flashing.flasher import FlashResult, flash

__all__ = ["FlashResult", "flash"]
