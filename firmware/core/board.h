// The board layer interface: the only thing the portable core (firmware/core/) knows about the hardware.
// Each board (firmware/boards/<name>/) implements these functions; its main() calls vww::board::init() and
// then vww::app_main(). Nothing here may include a board or SDK header.
#ifndef VWW_CORE_BOARD_H_
#define VWW_CORE_BOARD_H_

#include <cstddef>
#include <cstdint>

namespace vww::board {

// Clocks, UART, LEDs, timer and the camera (if any). Called once, before app_main().
void init();

// Non-blocking: copies up to `max` bytes that have already arrived and returns how many (0 if none).
// The board must buffer received bytes (interrupt-driven) while the core executes a request, enough for one
// complete request frame (see docs/firmware-core.md, "Board layer contract").
size_t uart_read(uint8_t* buf, size_t max);

// Blocks until all `n` bytes are queued or sent.
void uart_write(const uint8_t* data, size_t n);

// Monotonic microseconds since init().
uint64_t micros();

// Instructions executed since init(); 0 when the board cannot count (QEMU with -icount can).
uint64_t instruction_count();

// True when a sensor is attached and initialised.
bool camera_available();

// Fills 324 * 244 bytes (HM01B0 QVGA window, row-major, 8-bit) and returns true; false on failure.
bool camera_capture(uint8_t* frame);

enum class Led { kHeartbeat, kPerson, kNoPerson, kError };
void led(Led which, bool on);

// Board name reported in INFO, e.g. "sparkfun_edge", "qemu_an386".
const char* name();

// Core clock in Hz, reported in INFO.
uint32_t clock_hz();

// ---- Self-test probes (the SELFTEST request, docs/protocol.md). Each returns false when the board has no such
// hardware or the probe could not run; the core then reports the check as failed or not applicable. A probe may
// take up to a few seconds (it reads whole frames) and may leave the camera reconfigured: it must restore the
// normal streaming configuration before it returns.

// The sensor's model ID read over I2C (HM01B0: registers 0x0000/0x0001, expected 0x01B0). False: no I2C answer.
bool camera_model_id(uint16_t* id);

// Puts the sensor in its walking-ones test pattern (vendor test-mode script), reads `frames` frames and counts,
// for each data line D0..D7, the pixels whose bit differed from the expected pattern; `pixels` = pixels checked.
bool camera_walking_ones(uint32_t frames, uint32_t mismatches[8], uint32_t* pixels);

// What the capture loop counted while reading frames: frames per second (x1000), pixels per line and lines per
// frame of the last frame (HM01B0 QVGA: 324 x 244).
struct FrameTiming {
  uint32_t fps_milli;
  uint16_t pixels_per_line;
  uint16_t lines_per_frame;
};
bool camera_frame_timing(FrameTiming* timing);

// Auto-exposure state after the bounded convergence wait: converged or not, the mean of the last frame (0..255),
// and how many frames the wait read.
struct Exposure {
  bool converged;
  uint8_t mean;
  uint16_t frames_waited;
};
bool camera_exposure(Exposure* exposure);

// The core clock measured by counting CPU cycles (DWT) over a known interval of an independent timer, in Hz.
// False when the board cannot measure it.
bool measured_clock_hz(uint32_t* hz);

// Stack: bytes reserved and the high-water mark found by scanning the stack painted at boot.
bool stack_usage(uint32_t* used, uint32_t* reserved);

}  // namespace vww::board

namespace vww {
// The core's command loop (firmware/core/app_main.cc). A board's main() calls board::init() then this.
[[noreturn]] void app_main();
}  // namespace vww

#endif  // VWW_CORE_BOARD_H_
