// Board layer for QEMU's mps2-an386 (Cortex-M4F): CMSDK APB UART0, CMSDK timer0, FPGAIO LEDs,
// Arm semihosting for the command line and exit. No camera: the core serves SET_FRAME frames or
// its test pattern, and the self-test reports the camera checks not applicable (the Makefile builds
// with VWW_BOARD_HAS_CAMERA=0). The self-test's clock and stack probes are real: SysTick counts core
// cycles against timer0, and startup.c paints the stack at reset.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <utility>

#include "board.h"
#include "tensorflow/lite/micro/cortex_m_generic/debug_log_callback.h"

namespace {

// Register blocks (AN386 memory map; CMSDK peripheral layouts).
struct CmsdkUart {
  volatile uint32_t data;       // 0x00
  volatile uint32_t state;      // 0x04: bit0 TX full, bit1 RX full
  volatile uint32_t ctrl;       // 0x08: bit0 TX enable, bit1 RX enable
  volatile uint32_t intstatus;  // 0x0C
  volatile uint32_t bauddiv;    // 0x10
};
struct CmsdkTimer {
  volatile uint32_t ctrl;    // 0x00: bit0 enable
  volatile uint32_t value;   // 0x04: counts down at the peripheral clock
  volatile uint32_t reload;  // 0x08
  volatile uint32_t intstatus;
};

// SysTick (Armv7-M system control space): a 24-bit down-counter; CLKSOURCE = 1 clocks it from the core.
struct SysTick {
  volatile uint32_t ctrl;  // bit0 enable, bit1 interrupt, bit2 CLKSOURCE (1 = processor clock)
  volatile uint32_t load;
  volatile uint32_t val;
};
SysTick* const kSysTick = reinterpret_cast<SysTick*>(0xE000E010u);

CmsdkUart* const kUart0 = reinterpret_cast<CmsdkUart*>(0x40004000u);
CmsdkTimer* const kTimer0 = reinterpret_cast<CmsdkTimer*>(0x40000000u);
volatile uint32_t* const kFpgaioLeds = reinterpret_cast<volatile uint32_t*>(0x40028000u);

constexpr uint32_t kPeripheralClockHz = 25000000u;  // AN386 SYSCLK and APB clock
constexpr uint32_t kUartStateTxFull = 1u << 0;
constexpr uint32_t kUartStateRxFull = 1u << 1;

// With `-icount shift=0` QEMU advances virtual time by 1 ns per instruction, so timer ticks
// (40 ns each at 25 MHz) count instructions; without it they count host time.
bool g_icount = false;
uint32_t g_last_timer = 0xFFFFFFFFu;
uint64_t g_elapsed_ticks = 0;
uint32_t g_leds = 0;

uint32_t timer_ticks_since(uint32_t start) { return start - kTimer0->value; }  // down-counter

uint64_t elapsed_ticks() {
  uint32_t now = kTimer0->value;
  g_elapsed_ticks += static_cast<uint32_t>(g_last_timer - now);  // down-counter, wraps mod 2^32
  g_last_timer = now;
  return g_elapsed_ticks;
}

// Arm semihosting: operation in r0, parameter block in r1, result in r0.
int semihost(int op, void* arg) {
  register int r0 __asm__("r0") = op;
  register void* r1 __asm__("r1") = arg;
  __asm__ volatile("bkpt 0xAB" : "+r"(r0) : "r"(r1) : "memory");
  return r0;
}
constexpr int kSysGetCmdline = 0x15;
constexpr int kSysExit = 0x18;
constexpr int kSysWrite0 = 0x04;

// TFLM's MicroPrintf (error messages, the op profile of -DVWW_OP_PROFILE builds) goes to QEMU's stderr.
void semihost_write(const char* text) { semihost(kSysWrite0, const_cast<char*>(text)); }

void read_command_line() {
  static char cmdline[128];
  struct {
    char* buf;
    int len;
  } block = {cmdline, sizeof(cmdline) - 1};
  if (semihost(kSysGetCmdline, &block) != 0) return;
  cmdline[block.len] = '\0';
  g_icount = std::strstr(cmdline, "icount") != nullptr;
}

}  // namespace

extern "C" void vww_semihost_exit(int code) {
  // ADP_Stopped_ApplicationExit (0x20026) ends QEMU with status 0; other codes are errors.
  semihost(kSysExit, reinterpret_cast<void*>(code == 0 ? 0x20026 : 0x20024));
}

extern "C" void vww_fault_report(const char* what) { semihost(kSysWrite0, const_cast<char*>(what)); }

namespace vww::board {

void init() {
  kUart0->bauddiv = kPeripheralClockHz / 115200u;  // QEMU ignores the rate but wants a valid divider
  kUart0->ctrl = 0x3;                              // TX and RX enabled, no interrupts
  kTimer0->ctrl = 0;
  kTimer0->reload = 0xFFFFFFFFu;
  kTimer0->value = 0xFFFFFFFFu;
  kTimer0->ctrl = 1;
  g_last_timer = kTimer0->value;
  read_command_line();
  RegisterDebugLogCallback(semihost_write);
}

size_t uart_read(uint8_t* buf, size_t max) {
  size_t n = 0;
  // QEMU's chardev holds further bytes back while the one-byte RX buffer is full, so polling loses nothing.
  while (n < max && (kUart0->state & kUartStateRxFull)) buf[n++] = static_cast<uint8_t>(kUart0->data);
  return n;
}

void uart_write(const uint8_t* data, size_t n) {
  for (size_t i = 0; i < n; ++i) {
    while (kUart0->state & kUartStateTxFull) {
    }
    kUart0->data = data[i];
  }
}

uint64_t micros() { return elapsed_ticks() / (kPeripheralClockHz / 1000000u); }

uint64_t instruction_count() { return g_icount ? elapsed_ticks() * (1000000000u / kPeripheralClockHz) : 0; }

bool camera_available() { return false; }

bool camera_capture(uint8_t*) { return false; }

void led(Led which, bool on) {
  const uint32_t bit = 1u << static_cast<uint32_t>(which);
  g_leds = on ? (g_leds | bit) : (g_leds & ~bit);
  *kFpgaioLeds = g_leds;
}

const char* name() { return "qemu_an386"; }

uint32_t clock_hz() { return kPeripheralClockHz; }

bool camera_model_id(uint16_t*) { return false; }
bool camera_walking_ones(uint32_t, uint32_t*, uint32_t*) { return false; }
bool camera_frame_timing(FrameTiming*) { return false; }
bool camera_exposure(Exposure*) { return false; }

// QEMU models no DWT cycle counter, but SysTick with CLKSOURCE = 1 counts core clock cycles: count them over
// 20 ms of timer0, which runs from the peripheral clock (500,000 cycles fit the 24-bit counter). Without
// -icount QEMU's clocks follow the host's, so a measurement the host interrupted between two reads is off:
// the median of three is kept.
static uint32_t clock_sample() {
  constexpr uint32_t kWindowTicks = kPeripheralClockHz / 50;
  kSysTick->ctrl = 0;
  kSysTick->load = 0x00FFFFFFu;
  kSysTick->val = 0;     // any write clears it; it reloads from LOAD on the next cycle
  kSysTick->ctrl = 0x5;  // enabled, processor clock, no interrupt
  const uint32_t t0 = kTimer0->value;
  const uint32_t c0 = kSysTick->val;
  while (timer_ticks_since(t0) < kWindowTicks) {
  }
  const uint32_t c1 = kSysTick->val;
  const uint32_t ticks = timer_ticks_since(t0);
  kSysTick->ctrl = 0;
  const uint32_t cycles = (c0 - c1) & 0x00FFFFFFu;
  return ticks ? static_cast<uint32_t>(static_cast<uint64_t>(cycles) * kPeripheralClockHz / ticks) : 0;
}

bool measured_clock_hz(uint32_t* hz) {
  uint32_t a = clock_sample(), b = clock_sample(), c = clock_sample();
  if (a > b) std::swap(a, b);
  if (b > c) std::swap(b, c);
  if (a > b) std::swap(a, b);
  *hz = b;
  return b != 0;
}

}  // namespace vww::board

extern "C" uint32_t vww_stack_high_water(uint32_t* reserved);  // startup.c: the stack painted at reset

namespace vww::board {

bool stack_usage(uint32_t* used, uint32_t* reserved) {
  *used = vww_stack_high_water(reserved);
  return *reserved > 0;
}

}  // namespace vww::board

// TFLM's micro_time.h for this board (its cortex_m_generic version reads the DWT cycle counter, which
// QEMU does not model): the CMSDK timer's ticks. Only TFLM's profiler calls these.
namespace tflite {
uint32_t ticks_per_second() { return kPeripheralClockHz; }
uint32_t GetCurrentTimeTicks() { return static_cast<uint32_t>(elapsed_ticks()); }
}  // namespace tflite

int main() {
  vww::board::init();
  vww::app_main();
}
