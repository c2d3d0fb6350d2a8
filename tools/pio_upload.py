"""PlatformIO upload step: `pio run -e sparkfun_edge -t upload` runs `vwwdeploy flash` through this script.

platformio.ini, in each Edge environment:
    upload_command = "$PYTHONEXE" "$PROJECT_DIR/tools/pio_upload.py"
        --protocol $UPLOAD_PROTOCOL --port "$UPLOAD_PORT" "$SOURCE"
(one line in the file)

PlatformIO (core 6) uses `upload_command` in place of the platform's uploader whatever `upload_protocol` says, after
its own port autodetection; `upload_protocol` (asb or svl) keeps choosing the platform's linker script (0xC000 or
0x10000) and is passed on as --protocol. Do not set `upload_protocol = custom`: platform-apollo3blue exits on upload
protocols it does not know, even for a plain build. This script makes the checkout importable, so it works whether
or not vwwdeploy is pip-installed in PlatformIO's Python, and behaves exactly like the CLI (same messages, retries,
baud fallback). An empty --port (nothing detected) lets vwwdeploy pick the only USB serial port.
"""

from __future__ import annotations

import sys
from pathlib import Path

UPLOAD_COMMAND = (
    '"$PYTHONEXE" "$PROJECT_DIR/tools/pio_upload.py" --protocol $UPLOAD_PROTOCOL --port "$UPLOAD_PORT" "$SOURCE"'
)


def main(argv: list[str]) -> int:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from vwwdeploy.cli import main as cli_main

    return cli_main(["flash", *argv])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
