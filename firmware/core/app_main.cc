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
