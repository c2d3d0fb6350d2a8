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

}  // namespace vww::board

namespace vww {
// The core's command loop (firmware/core/app_main.cc). A board's main() calls board::init() then this.
[[noreturn]] void app_main();
}  // namespace vww

#endif  // VWW_CORE_BOARD_H_
