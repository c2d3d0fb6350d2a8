"""The one error a run of the Edge image ends with; its own module so the ROM helpers and the core share it."""


class FirmwareFault(Exception):
    """The firmware stopped running: a fault, a lockup, a reset request, a runaway."""


class ResetRequested(FirmwareFault):
    """The firmware asked RSTGEN for a reset (SWPOI/SWPOR): the end of a run, or a reboot where a bootloader
    is modelled (board.py with the SVL)."""
