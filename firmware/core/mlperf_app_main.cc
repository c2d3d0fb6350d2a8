// vww::app_main() of the MLPerf Tiny build (-DVWW_APP_MLPERF, `vwwdeploy firmware build --app mlperf`): the
// board's UART answers the MLPerf Tiny runner (mlperf_dut.h) instead of the binary protocol of app_main.cc.
// m-lap-us comes from board::micros(): the board timer, which under QEMU with -icount is virtual time (one
// instruction = 1 ns), so emulated latencies are instruction counts, not host time.
#if defined(VWW_APP_MLPERF)

#include <new>

#include "board.h"
#include "classifier.h"
#include "mlperf_dut.h"
#include "platform.h"

namespace vww {
namespace {

class BoardSink final : public ByteSink {
 public:
  void write(const uint8_t* data, size_t n) override { board::uart_write(data, n); }
};

class BoardPlatform final : public Platform {
 public:
  uint64_t micros() override { return board::micros(); }
  uint64_t instruction_count() override { return board::instruction_count(); }
  bool camera_available() override { return false; }
  bool camera_capture(uint8_t*) override { return false; }
  void led(LedId which, bool on) override { board::led(static_cast<board::Led>(which), on); }
  const char* name() override { return board::name(); }
  uint32_t clock_hz() override { return board::clock_hz(); }
};

alignas(16) uint8_t g_db[mlperf::kDbMax];
alignas(alignof(BoardSink)) uint8_t g_sink_storage[sizeof(BoardSink)];
alignas(alignof(BoardPlatform)) uint8_t g_platform_storage[sizeof(BoardPlatform)];
alignas(alignof(mlperf::Dut)) uint8_t g_dut_storage[sizeof(mlperf::Dut)];

}  // namespace

[[noreturn]] void app_main() {
  auto* sink = new (g_sink_storage) BoardSink();
  auto* platform = new (g_platform_storage) BoardPlatform();
  auto* dut = new (g_dut_storage) mlperf::Dut(*sink, default_classifier(), *platform, g_db, sizeof g_db);
  dut->boot();
  uint8_t buf[64];
  for (;;) {
    const size_t n = board::uart_read(buf, sizeof buf);
    if (n) dut->feed(buf, n);
  }
}

}  // namespace vww

#endif  // VWW_APP_MLPERF
