"""Flashing failures, all DeviceErrors (one clear line, exit 3) so the CLI needs no special cases."""

from __future__ import annotations

from vwwdeploy.errors import DeviceError


class NoAnswer(DeviceError):
    """Nothing (or too little) came back before the timeout."""


class Garbled(DeviceError):
    """Bytes came back but not a valid reply (bad CRC, wrong type): line noise or the wrong baud."""


class Refused(DeviceError):
    """The bootloader answered with a NACK that retrying will not fix."""


class RetriesExhausted(DeviceError):
    """The bootloader kept rejecting the same message."""
