"""PlatformIO extra script: `pio run -e sparkfun_edge -t upload` flashes through `vwwdeploy flash`.

platformio.ini:
    [env]
    extra_scripts = post:tools/pio_upload.py
    ; optional: the baud to try first (the other of 921600/115200 is tried next)
    ; custom_flash_baud = 921600

The platform's own upload step (port autodetection, then $UPLOADCMD) stays; only the command is replaced, so
PlatformIO users get exactly the CLI's behaviour: progress bar, retries, the baud fallback and the same messages.
`upload_protocol` (asb or svl) still picks the linker script (0xC000 or 0x10000) and is passed on as --protocol.
A plain `upload_protocol = custom` does not work here: platform-apollo3blue rejects unknown upload protocols and
chooses its linker script by protocol.
"""

from __future__ import annotations

import os

FLASHED_PROTOCOLS = ("asb", "svl")  # jlink and others keep the platform's own uploader


def upload_command(protocol: str, baud: str = "") -> str:
    """The command line template; PlatformIO substitutes $PYTHONEXE, $UPLOAD_PORT and $SOURCE when it runs."""
    parts = ['"$PYTHONEXE" -m vwwdeploy flash', f"--protocol {protocol}", '--port "$UPLOAD_PORT"']
    if baud:
        parts.append(f"--baud {int(baud)}")
    parts.append('"$SOURCE"')
    return " ".join(parts)


def configure(env) -> bool:
    protocol = env.subst("$UPLOAD_PROTOCOL").strip().lower()
    if protocol not in FLASHED_PROTOCOLS:
        return False
    env.Replace(UPLOADCMD=upload_command(protocol, env.GetProjectOption("custom_flash_baud", "")))
    # Make the repo's own package importable by PlatformIO's Python even when vwwdeploy is not pip-installed.
    project = env.subst("$PROJECT_DIR")
    current = env["ENV"].get("PYTHONPATH", "")
    env["ENV"]["PYTHONPATH"] = project + (os.pathsep + current if current else "")
    return True


if "Import" in globals():  # run by SCons as an extra script
    Import("env")  # noqa: F821 - provided by SCons
    configure(env)  # noqa: F821
