"""Host side of the device link: `Device` talks protocol v1 to one board behind a pyserial URL."""

from vwwdeploy.device.client import Capture, Device, LinkStats
from vwwdeploy.protocol.messages import DeviceInfo, Result, TensorInfo

__all__ = ["Capture", "Device", "DeviceInfo", "LinkStats", "Result", "TensorInfo"]
