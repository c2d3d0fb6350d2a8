"""The boards and the firmware targets built for them: one record per board, one per board x kernels x app.

Every fact about a board that more than one stage needs is here once: the model fit check reads its memory,
the flasher and the Edge emulator its application link addresses, the builds its CPU flags, the firmware
commands its PlatformIO environment names. `platformio.ini` and the QEMU Makefile cannot import Python, so
tests/test_firmware_targets.py checks that they say the same.

Adding a board, a kernels flavour or an app is an edit here (plus, for the Edge, the PlatformIO env the test
then asks for); adding an op is an edit of `firmware/tflm_sources.py`'s KERNEL_FILES.
"""

from __future__ import annotations

from dataclasses import dataclass

# The Cortex-M4F of both boards (the Apollo3 and QEMU's AN386): hard-float ABI on the single-precision FPU.
CORTEX_M4F_FLAGS = ("-mcpu=cortex-m4", "-mthumb", "-mfloat-abi=hard", "-mfpu=fpv4-sp-d16")

KERNELS = ("cmsis-nn", "reference", "generated")
# What the firmware's UART speaks: the vwwdeploy binary protocol, or the MLPerf Tiny DUT protocol (docs/mlperf.md).
APPS = ("binary", "mlperf")


@dataclass(frozen=True)
class Board:
    name: str  # the --board word
    title: str
    cpu_flags: tuple[str, ...]
    flash_base: int
    flash_bytes: int
    sram_base: int
    sram_bytes: int
    # Bootloader name -> address its application's vector table is linked at; the first is the board's default.
    app_addresses: dict[str, int]
    # Flash an application may use: PlatformIO's board file for the Edge, everything for QEMU.
    app_flash_bytes: int
    has_camera: bool


EDGE = Board(
    name="edge",
    title="SparkFun Edge",
    cpu_flags=CORTEX_M4F_FLAGS,
    flash_base=0x0000_0000,
    flash_bytes=1024 * 1024,
    sram_base=0x1000_0000,
    sram_bytes=384 * 1024,
    # Ambiq's secure bootloader (in every Edge's flash below 0xC000) and SparkFun's SVL (at 0xC000, apps above).
    app_addresses={"asb": 0xC000, "svl": 0x10000},
    # SparkFun_Edge_Development_Board.json: 1 MB less the 64 KB the SVL layout keeps below its applications.
    app_flash_bytes=983_040,
    has_camera=True,
)

QEMU_AN386 = Board(
    name="qemu",
    title="QEMU mps2-an386",
    cpu_flags=CORTEX_M4F_FLAGS,
    flash_base=0x0000_0000,
    flash_bytes=4 * 1024 * 1024,
    sram_base=0x2000_0000,
    sram_bytes=4 * 1024 * 1024,
    app_addresses={"none": 0x0},  # QEMU loads the ELF itself
    app_flash_bytes=4 * 1024 * 1024,
    has_camera=False,
)

BOARDS = {b.name: b for b in (EDGE, QEMU_AN386)}


@dataclass(frozen=True)
class Target:
    """One firmware image: which board, which TFLM kernels, which app on the UART, which bootloader starts it."""

    board: Board
    kernels: str
    app: str
    bootloader: str = ""  # a key of board.app_addresses (where the image is linked); "" = the board's default

    def __post_init__(self):
        if not self.bootloader:
            object.__setattr__(self, "bootloader", next(iter(self.board.app_addresses)))

    @property
    def link_address(self) -> int:
        return self.board.app_addresses[self.bootloader]

    @property
    def tflm_flavour(self) -> str:
        # The generated kernels sit on the CMSIS-NN tree, which runs every layer the generator leaves to TFLM.
        return "reference" if self.kernels == "reference" else "cmsis-nn"

    @property
    def defines(self) -> tuple[str, ...]:
        return ("VWW_APP_MLPERF",) if self.app == "mlperf" else ()

    @property
    def env(self) -> str:
        """The PlatformIO environment of an Edge target (platformio.ini), or the QEMU build's name."""
        stem = "sparkfun_edge" if self.board is EDGE else "qemu_an386"
        kernels = {"cmsis-nn": "", "reference": "_ref", "generated": "_generated"}[self.kernels]
        bootloader = "_svl" if self.bootloader == "svl" else ""
        return stem + kernels + bootloader + ("_mlperf" if self.app == "mlperf" else "")


TARGETS = (
    *(Target(QEMU_AN386, k, a) for k in KERNELS for a in APPS),
    Target(EDGE, "cmsis-nn", "binary"),
    Target(EDGE, "reference", "binary"),
    Target(EDGE, "generated", "binary"),
    Target(EDGE, "cmsis-nn", "binary", "svl"),
    Target(EDGE, "cmsis-nn", "mlperf"),
    Target(EDGE, "reference", "mlperf"),
)


def find(board: str, kernels: str, app: str, bootloader: str = "") -> Target | None:
    """The target, or None; bootloader "" means the board's default one."""
    bootloader = bootloader or next(iter(BOARDS[board].app_addresses))
    key = (board, kernels, app, bootloader)
    return next((t for t in TARGETS if (t.board.name, t.kernels, t.app, t.bootloader) == key), None)


def by_env(env: str) -> Target | None:
    return next((t for t in TARGETS if t.env == env), None)


def edge_envs() -> list[str]:
    return [t.env for t in TARGETS if t.board is EDGE]
