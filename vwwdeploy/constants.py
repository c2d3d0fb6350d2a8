"""Link defaults in one place, each named with its unit and with the reason for its value.

As esptool's loader keeps its timeouts: a number that decides whether a healthy board looks dead should
be found, and argued about, here, not in seven places.
"""

# --- the UART -------------------------------------------------------------------------------------------
# The firmware's rate (firmware/src, board.cc): the Edge's CH340 bridge carries it reliably, and a 96x96
# INFER (9,232 bytes) then takes 0.1 s on the wire, about the inference time on the Apollo3.
DEFAULT_BAUD = 921_600
BITS_PER_BYTE = 10  # 8N1: start bit, 8 data bits, stop bit; wire time = bytes * 10 / baud

# --- the host side of protocol v1 (docs/protocol.md) ---------------------------------------------------
# Per attempt, on top of the request's own wire time: the upstream model infers in ~0.2 s with
# CMSIS-NN, ~1 s with reference kernels; 2 s leaves room for a loaded USB bus.
REQUEST_TIMEOUT_S = 2.0
# Resends of one request (timeout, BAD_CRC, board reset) before the board is declared silent: five
# misses in a row is not line noise any more at the error rates the staged transfer handles.
REQUEST_RETRIES = 5
# docs/protocol.md section 1: a frame whose bytes stop for this long is abandoned (host side).
HOST_INTER_BYTE_TIMEOUT_S = 0.2
# The device's inter-byte timeout, half the host's, so the device gives up on a cut frame first.
DEVICE_INTER_BYTE_TIMEOUT_S = 0.1
# One read of the port: short, so deadlines are checked often; long enough not to spin a core.
POLL_S = 0.02
# A blocked write (a USB bridge that stopped draining) ends with an error instead of hanging forever;
# a full raw SET_FRAME at 115200 baud needs 7 s.
WRITE_TIMEOUT_S = 30.0
# A STAGE's ACK needs no computation, only the line's latency (plus the chunk's wire time).
STAGE_TIMEOUT_S = 0.1

# --- the live demo ---------------------------------------------------------------------------------------
# The browser shows a stale frame rather than wait: fail fast, the link reconnects with back-off.
DEMO_TIMEOUT_S = 1.0
DEMO_RETRIES = 3

# --- flashing ---------------------------------------------------------------------------------------------
# SparkFun's Edges answer the ASB at 921600, the TF-conference batch at 115200: try both, first the first.
FLASH_BAUDS = (921_600, 115_200)
# The ASB erases flash before it answers an update's first data frame: up to ~10 s for a large image.
FLASH_REPLY_TIMEOUT_S = 12.0
