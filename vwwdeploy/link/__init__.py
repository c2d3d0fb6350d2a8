"""Stage 5, talking to a board: the binary protocol (`protocol/`), the host client (`client.Device` talks protocol
v1 to one board behind a pyserial URL; `device_io`, `exchange`, `streaming`, `staging`, `collectors`, `stats`), the
ports (`port`), flashing (`flashing/`: SVL and Ambiq's secure bootloader) and the MLPerf Tiny DUT text protocol
(`mlperf_protocol`, `mlperf_dut`).
May import: the root basics, data, training, model and firmware; never virtual_boards, apps or commands.
"""

from vwwdeploy.link.client import Capture, Device, LinkStats
from vwwdeploy.link.protocol.messages import DeviceInfo, Result, TensorInfo

__all__ = ["Capture", "Device", "DeviceInfo", "LinkStats", "Result", "TensorInfo"]
