// SparkFun Edge implementation of the board layer (firmware/core/board.h): clocks, LEDs and the
// glue to the UART, timer and camera drivers next to this file. Hardware access goes through the
// AmbiqSuite HAL (am_hal_*), pin numbers come from the Edge BSP (am_bsp_pins.h).
#include "board.h"
#include "edge.h"
#include "sdk.h"

namespace vww::board {
namespace {

uint32_t g_clock_hz = AM_HAL_CLKGEN_FREQ_MAX_HZ;
bool g_camera_ok = false;

struct LedPin {
  Led which;
  uint32_t pin;
};
// As the upstream person-detection example used them: blue blinks per inference (heartbeat),
// green = person, yellow = no person, red = error.
constexpr LedPin kLeds[] = {
    {Led::kHeartbeat, AM_BSP_GPIO_LED_BLUE},
    {Led::kPerson, AM_BSP_GPIO_LED_GREEN},
    {Led::kNoPerson, AM_BSP_GPIO_LED_YELLOW},
    {Led::kError, AM_BSP_GPIO_LED_RED},
};

void clocks_init() {
  // 48 MHz system clock, flash cache on, unused peripherals off.
  am_hal_clkgen_control(AM_HAL_CLKGEN_CONTROL_SYSCLK_MAX, nullptr);
  am_hal_cachectrl_config(&am_hal_cachectrl_defaults);
  am_hal_cachectrl_enable();
  am_bsp_low_power_init();
  // TurboSPOT burst mode doubles the core clock to 96 MHz on parts that have it (Apollo3 Blue
  // revisions B0 and later); peripherals keep their 48 MHz-derived clocks.
  am_hal_burst_avail_e avail;
  if (am_hal_burst_mode_initialize(&avail) == AM_HAL_STATUS_SUCCESS && avail == AM_HAL_BURST_AVAIL) {
    am_hal_burst_mode_e mode;
    if (am_hal_burst_mode_enable(&mode) == AM_HAL_STATUS_SUCCESS && mode == AM_HAL_BURST_MODE) {
      g_clock_hz = 2 * AM_HAL_CLKGEN_FREQ_MAX_HZ;
    }
  }
}

void leds_init() {
  for (const LedPin& led : kLeds) {
    am_hal_gpio_pinconfig(led.pin, g_AM_HAL_GPIO_OUTPUT);
    am_hal_gpio_state_write(led.pin, AM_HAL_GPIO_OUTPUT_CLEAR);
  }
}

}  // namespace

void init() {
  // First, while the stack holds only main()'s frame: everything below is painted for stack_usage().
  edge::stack_paint();
  clocks_init();
  leds_init();
  edge::timer_init();
  edge::uart_init();
  am_hal_interrupt_master_enable();
  g_camera_ok = edge::camera_init();
  if (!g_camera_ok) led(Led::kError, true);
}

size_t uart_read(uint8_t* buf, size_t max) { return edge::uart_read(buf, max); }
void uart_write(const uint8_t* data, size_t n) { edge::uart_write(data, n); }
uint64_t micros() { return edge::micros(); }
uint64_t instruction_count() { return 0; }  // the Cortex-M4 has no instruction counter
bool camera_available() { return g_camera_ok; }

bool camera_capture(uint8_t* frame) {
  if (!g_camera_ok) return false;
  return edge::camera_capture(frame);
}

void led(Led which, bool on) {
  for (const LedPin& led : kLeds) {
    if (led.which == which) {
      am_hal_gpio_state_write(led.pin, on ? AM_HAL_GPIO_OUTPUT_SET : AM_HAL_GPIO_OUTPUT_CLEAR);
    }
  }
}

const char* name() { return "sparkfun_edge"; }
uint32_t clock_hz() { return g_clock_hz; }

bool camera_model_id(uint16_t* id) { return edge::camera_model_id(id); }

bool camera_walking_ones(uint32_t frames, uint32_t mismatches[8], uint32_t* pixels) {
  return g_camera_ok && edge::camera_walking_ones(frames, mismatches, pixels);
}

bool camera_frame_timing(FrameTiming* timing) {
  edge::FrameCounts last;
  uint32_t fps_milli = 0;
  if (!g_camera_ok || !edge::camera_frame_timing(&last, &fps_milli)) return false;
  timing->fps_milli = fps_milli;
  timing->pixels_per_line = last.pixels_per_line;
  timing->lines_per_frame = last.lines;
  return true;
}

bool camera_exposure(Exposure* exposure) {
  return g_camera_ok && edge::camera_exposure(&exposure->converged, &exposure->mean, &exposure->frames_waited);
}

bool measured_clock_hz(uint32_t* hz) { return edge::measure_clock_hz(hz); }

bool stack_usage(uint32_t* used, uint32_t* reserved) {
  edge::stack_usage(used, reserved);
  return true;
}

}  // namespace vww::board
