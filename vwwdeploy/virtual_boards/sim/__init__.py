"""The simulated board: protocol v1 device side on a pty or TCP port, the model on the TFLM host twin."""

from vwwdeploy.virtual_boards.sim.board import SimBoard, start_sim_in_thread
from vwwdeploy.virtual_boards.sim.camera import Camera
from vwwdeploy.virtual_boards.sim.faults import FaultConfig

__all__ = ["Camera", "FaultConfig", "SimBoard", "start_sim_in_thread"]
