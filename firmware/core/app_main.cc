// vww::app_main(): binds the command loop to the board layer (board.h). No TFLM include here: the classifier
// comes from default_classifier(), defined in tflm_classifier.cc. The MLPerf Tiny build (-DVWW_APP_MLPERF)
// takes mlperf_app_main.cc's instead.
#if !defined(VWW_APP_MLPERF)
#include <new>

#include "board.h"
#include "classifier.h"
#include "command_loop.h"
#include "platform.h"
#include "version.h"

static_assert(VWW_DEVICE_MAX_RX_PAYLOAD >= vww::kMinDeviceRxPayload,
              "DEVICE_MAX_RX_PAYLOAD below the protocol minimum");
static_assert(VWW_DEVICE_MAX_RX_PAYLOAD <= vww::kMaxPayload, "DEVICE_MAX_RX_PAYLOAD above MAX_PAYLOAD");

// Board facts the build states (the QEMU Makefile sets both to 0). A board built with a camera fails the
// self-test's camera checks when its sensor is silent; one without reports them not applicable. A board whose
// camera read runs with interrupts off is deaf during captures (docs/protocol.md, "Capture windows"). A board
// whose UART bytes can pause for longer than 100 ms mid-frame sets a longer inter-byte timeout (QEMU: 2 s).
#ifndef VWW_BOARD_HAS_CAMERA
#define VWW_BOARD_HAS_CAMERA 1
#endif
#ifndef VWW_BOARD_INTER_BYTE_TIMEOUT_US
#define VWW_BOARD_INTER_BYTE_TIMEOUT_US 100000
#endif
#ifndef VWW_BOARD_DEAF_CAPTURE
#define VWW_BOARD_DEAF_CAPTURE VWW_BOARD_HAS_CAMERA
#endif

// A board layer that does not implement a self-test probe yet links anyway: the probe reports that it could not
// run (the check fails, or is not applicable for the clock and stack). A board's own definitions replace these.
namespace vww::board {
__attribute__((weak)) bool camera_model_id(uint16_t*) { return false; }
__attribute__((weak)) bool camera_walking_ones(uint32_t, uint32_t*, uint32_t*) { return false; }
__attribute__((weak)) bool camera_frame_timing(FrameTiming*) { return false; }
__attribute__((weak)) bool camera_exposure(Exposure*) { return false; }
__attribute__((weak)) bool measured_clock_hz(uint32_t*) { return false; }
__attribute__((weak)) bool stack_usage(uint32_t*, uint32_t*) { return false; }
}  // namespace vww::board

namespace vww {
namespace {

class BoardTransport final : public Transport {
 public:
  size_t read(uint8_t* buf, size_t max) override { return board::uart_read(buf, max); }
  void write(const uint8_t* data, size_t n) override { board::uart_write(data, n); }
};

class BoardPlatform final : public Platform {
 public:
  uint64_t micros() override { return board::micros(); }
  uint64_t instruction_count() override { return board::instruction_count(); }
  bool camera_available() override { return board::camera_available(); }
  bool camera_capture(uint8_t* raw) override { return board::camera_capture(raw); }
  void led(LedId which, bool on) override { board::led(static_cast<board::Led>(which), on); }
  const char* name() override { return board::name(); }
  uint32_t clock_hz() override { return board::clock_hz(); }

  bool camera_fitted() override { return VWW_BOARD_HAS_CAMERA != 0; }
  bool deaf_during_capture() override { return VWW_BOARD_DEAF_CAPTURE != 0; }
  uint64_t inter_byte_timeout_us() override { return VWW_BOARD_INTER_BYTE_TIMEOUT_US; }
  bool camera_model_id(uint16_t* id) override { return board::camera_model_id(id); }
  bool camera_walking_ones(uint32_t frames, uint32_t mismatches[8], uint32_t* pixels) override {
    return board::camera_walking_ones(frames, mismatches, pixels);
  }
  bool camera_frame_timing(FrameTiming* timing) override {
    board::FrameTiming t{};
    if (!board::camera_frame_timing(&t)) return false;
    timing->fps_milli = t.fps_milli;
    timing->pixels_per_line = t.pixels_per_line;
    timing->lines_per_frame = t.lines_per_frame;
    return true;
  }
  bool camera_exposure(Exposure* exposure) override {
    board::Exposure e{};
    if (!board::camera_exposure(&e)) return false;
    exposure->converged = e.converged;
    exposure->mean = e.mean;
    exposure->frames_waited = e.frames_waited;
    return true;
  }
  bool measured_clock_hz(uint32_t* hz) override { return board::measured_clock_hz(hz); }
  bool stack_usage(uint32_t* used, uint32_t* reserved) override { return board::stack_usage(used, reserved); }
};

// led() converts by value: the two enums must list the LEDs in the same order.
static_assert(static_cast<int>(LedId::kHeartbeat) == static_cast<int>(board::Led::kHeartbeat) &&
                  static_cast<int>(LedId::kPerson) == static_cast<int>(board::Led::kPerson) &&
                  static_cast<int>(LedId::kNoPerson) == static_cast<int>(board::Led::kNoPerson) &&
                  static_cast<int>(LedId::kError) == static_cast<int>(board::Led::kError),
              "LED enums must agree");

constexpr uint64_t kHeartbeatHalfPeriodUs = 500000;

// Static storage, zero-initialised by the startup code; objects are placement-constructed in app_main() so the
// firmware needs neither global constructors (.init_array) nor __cxa_atexit.
alignas(16) uint8_t g_rx_buffer[VWW_DEVICE_MAX_RX_PAYLOAD + kFrameOverhead];
alignas(16) uint8_t g_raw_frame[kRawFrameBytes];
#if VWW_STAGING_BYTES > 0
static_assert(VWW_STAGING_BYTES >= kStagingMinBytes, "a staging buffer holds at least one 96x96x3 input");
alignas(16) uint8_t g_staging[VWW_STAGING_BYTES];
uint8_t* const kStaging = g_staging;
#else
uint8_t* const kStaging = nullptr;
#endif
alignas(alignof(BoardTransport)) uint8_t g_transport_storage[sizeof(BoardTransport)];
alignas(alignof(BoardPlatform)) uint8_t g_platform_storage[sizeof(BoardPlatform)];
alignas(alignof(CommandLoop)) uint8_t g_loop_storage[sizeof(CommandLoop)];

}  // namespace

[[noreturn]] void app_main() {
  auto* transport = new (g_transport_storage) BoardTransport();
  auto* platform = new (g_platform_storage) BoardPlatform();
  auto* loop = new (g_loop_storage) CommandLoop(*transport, default_classifier(), *platform, g_rx_buffer,
                                                sizeof g_rx_buffer, g_raw_frame, kStaging, VWW_STAGING_BYTES);
  loop->boot();
  bool beat = false;
  uint64_t next_beat = board::micros();
  for (;;) {
    loop->poll();
    const uint64_t now = board::micros();
    if (now >= next_beat) {
      beat = !beat;
      board::led(board::Led::kHeartbeat, beat);
      next_beat = now + kHeartbeatHalfPeriodUs;
    }
  }
}

}  // namespace vww

#endif  // !VWW_APP_MLPERF
