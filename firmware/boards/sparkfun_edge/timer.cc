// Microseconds since boot from the Apollo3 system timer (STIMER) clocked at 3 MHz (HFRC / 16):
// a 32-bit count wraps every 23.8 minutes, so its overflow interrupt extends it to 64 bits.
#include "edge.h"
#include "sdk.h"

namespace vww::edge {
namespace {
constexpr uint32_t kTicksPerMicrosecond = 3;
volatile uint32_t g_overflows = 0;
}  // namespace

void timer_init() {
  am_hal_stimer_config(AM_HAL_STIMER_CFG_CLEAR | AM_HAL_STIMER_CFG_FREEZE);
  am_hal_stimer_int_clear(AM_HAL_STIMER_INT_OVERFLOW);
  am_hal_stimer_int_enable(AM_HAL_STIMER_INT_OVERFLOW);
  NVIC_EnableIRQ(STIMER_IRQn);
  am_hal_stimer_config(AM_HAL_STIMER_HFRC_3MHZ);  // writing the clock select also starts it
}

uint64_t micros() {
  const uint32_t irq_state = am_hal_interrupt_master_disable();
  uint32_t high = g_overflows;
  uint32_t low = am_hal_stimer_counter_get();
  // An overflow whose interrupt has not run yet (interrupts off, e.g. during a camera frame):
  // the counter has wrapped, so count it here and re-read the post-wrap value.
  if (am_hal_stimer_int_status_get(false) & AM_HAL_STIMER_INT_OVERFLOW) {
    high += 1;
    low = am_hal_stimer_counter_get();
  }
  am_hal_interrupt_master_set(irq_state);
  return ((static_cast<uint64_t>(high) << 32) | low) / kTicksPerMicrosecond;
}

}  // namespace vww::edge

extern "C" void am_stimer_isr() {
  if (am_hal_stimer_int_status_get(false) & AM_HAL_STIMER_INT_OVERFLOW) {
    am_hal_stimer_int_clear(AM_HAL_STIMER_INT_OVERFLOW);
    vww::edge::g_overflows = vww::edge::g_overflows + 1;
  }
}
