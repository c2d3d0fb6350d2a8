"""The one error a run of the Edge image ends with; its own module so the ROM helpers and the core share it."""


class FirmwareFault(Exception):
    """The firmware stopped running: a fault, a lockup, a reset request, a runaway."""
