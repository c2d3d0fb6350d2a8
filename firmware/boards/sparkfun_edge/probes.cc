// Board-side measurements for the self-test: the stack high-water mark (stack painted at boot, scanned on
// request) and the core clock counted with the Cortex-M4 DWT cycle counter over an interval of the STIMER.
#include "edge.h"
#include "probe_logic.h"
#include "sdk.h"

// From the SDK's linker script (boards_sfe/common/tools_sfe/templates/asb_linker.ld): free SRAM starts at
// _sheap (after .bss, nothing is heap-allocated) and the stack grows down from _sstack, the initial SP.
extern "C" uint32_t _sheap[];
extern "C" uint32_t _sstack[];

namespace vww::edge {
namespace {
// Left unpainted below the stack pointer at the time of painting: the painting code's own frame.
constexpr uint32_t kPaintMarginWords = 64;
// STIMER runs at 3 MHz from the HFRC (timer.cc); 30,000 ticks = 10 ms, under 2^32 cycles at 96 MHz.
constexpr uint32_t kStimerHz = 3000000;
constexpr uint32_t kClockTicks = 30000;

// The STIMER count and the cycle counter read together, right after the STIMER ticked, so that both
// intervals start and end on a tick edge.
void sample_on_tick(uint32_t* ticks, uint32_t* cycles) {
  const uint32_t irq_state = am_hal_interrupt_master_disable();
  const uint32_t t0 = am_hal_stimer_counter_get();
  uint32_t t;
  do {
    t = am_hal_stimer_counter_get();
  } while (t == t0);
  *cycles = DWT->CYCCNT;
  *ticks = t;
  am_hal_interrupt_master_set(irq_state);
}
}  // namespace

void stack_paint() {
  uint32_t* const sp = reinterpret_cast<uint32_t*>(__get_MSP());
  probe::paint(_sheap, sp - kPaintMarginWords);
}

void stack_usage(uint32_t* used, uint32_t* reserved) {
  *reserved = static_cast<uint32_t>(reinterpret_cast<uintptr_t>(_sstack) - reinterpret_cast<uintptr_t>(_sheap));
  *used = probe::stack_used(_sheap, _sstack);
}

bool measure_clock_hz(uint32_t* hz) {
  // am_bsp_low_power_init() turns trace off (TRCENA), which also stops the DWT and hides its registers.
  CoreDebug->DEMCR |= CoreDebug_DEMCR_TRCENA_Msk;
  if (DWT->CTRL & DWT_CTRL_NOCYCCNT_Msk) return false;
  DWT->CYCCNT = 0;
  DWT->CTRL |= DWT_CTRL_CYCCNTENA_Msk;
  uint32_t t0, c0, t1, c1;
  sample_on_tick(&t0, &c0);
  // Interrupts stay on in between: the cycle counter counts handler cycles too, so they change nothing.
  while (am_hal_stimer_counter_get() - t0 < kClockTicks) {
  }
  sample_on_tick(&t1, &c1);
  if (c1 == c0) return false;  // the counter does not run
  *hz = probe::clock_hz_from_counts(c1 - c0, t1 - t0, kStimerHz);
  return true;
}

}  // namespace vww::edge
