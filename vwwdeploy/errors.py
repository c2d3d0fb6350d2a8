"""The one exception type the CLI turns into a single clear line and a non-zero exit."""


class UserError(Exception):
    """A problem the user can fix (bad input, missing file...).

    The message must stand alone on one line: what is wrong and, where it helps, what to do.
    """

    exit_code = 2


class DeviceError(UserError):
    """The board (real, emulated or simulated) did not answer as the protocol says, or its port cannot be
    opened (absent, busy, nobody listening: vwwdeploy.link.port.PortError)."""

    exit_code = 3

    def __init__(self, message: str = "", code: int | None = None):
        super().__init__(message)
        self.code = code  # the protocol's ERROR code (docs/protocol.md section 3) when the board sent one
