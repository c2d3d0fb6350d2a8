// Himax HM01B0 camera on the SparkFun Edge, written from the sensor's register map and the Edge's
// pin map (am_bsp_pins.h): control over I2C (IOM1, 100 kHz, 7-bit address 0x24, 16-bit register
// addresses), master clock from CTimer 0 segment B on pad 13, and frames read by the CPU from the
// 8-bit parallel bus (D0..D4 = GPIO 24..28, D5..D7 = GPIO 5..7) while VSYNC (15), HSYNC (22) and
// PCLK (23) are polled. All eleven signals are GPIO 0..31, so one read of GPIO->RDA samples
// the whole bus and the strobes at once.
#include "edge.h"
#include "sdk.h"

namespace vww::edge {
namespace {

constexpr uint32_t kI2cAddress = 0x24;
constexpr uint32_t kIomModule = AM_BSP_CAMERA_HM01B0_I2C_IOM;  // 1

// HM01B0 registers used here (datasheet names).
constexpr uint16_t kModelIdH = 0x0000;    // reads 0x01
constexpr uint16_t kModelIdL = 0x0001;    // reads 0xB0
constexpr uint16_t kModeSelect = 0x0100;  // 0 standby, 1 stream, 3 stream N frames on request
constexpr uint16_t kImageOrientation = 0x0101;
constexpr uint16_t kQvgaWinEn = 0x3010;      // 1: 324 x 244 window instead of 324 x 324
constexpr uint16_t kPmuFrameCount = 0x3020;  // frames per mode-3 request
constexpr uint16_t kBitControl = 0x3059;     // 0x02: 8-bit parallel output
constexpr uint8_t kModeStandby = 0x00;
constexpr uint8_t kModeNFrames = 0x03;

// Auto-exposure needs a few frames after power-up before the image is usable.
constexpr int kSettleFrames = 4;

constexpr uint32_t kVsyncBit = 1u << AM_BSP_GPIO_CAMERA_HM01B0_VSYNC;
constexpr uint32_t kHsyncBit = 1u << AM_BSP_GPIO_CAMERA_HM01B0_HSYNC;
constexpr uint32_t kPclkBit = 1u << AM_BSP_GPIO_CAMERA_HM01B0_PCLK;
// Polling budgets: a pixel clock edge comes within a few hundred CPU cycles, a line within a
// few thousand; these bounds only exist so a missing or unplugged sensor cannot hang the board.
constexpr uint32_t kEdgeSpins = 200000;
constexpr uint64_t kFrameStartTimeoutUs = 500000;

void* g_iom = nullptr;
int g_frames_to_discard = kSettleFrames;

bool write_reg(uint16_t reg, uint8_t value) {
  uint32_t word = value;
  am_hal_iom_transfer_t t = {};
  t.uPeerInfo.ui32I2CDevAddr = kI2cAddress;
  t.ui32InstrLen = 2;  // the 16-bit register address, high byte first
  t.ui32Instr = reg;
  t.eDirection = AM_HAL_IOM_TX;
  t.ui32NumBytes = 1;
  t.pui32TxBuffer = &word;
  return am_hal_iom_blocking_transfer(g_iom, &t) == AM_HAL_STATUS_SUCCESS;
}

bool read_reg(uint16_t reg, uint8_t* value) {
  uint32_t word = 0;
  am_hal_iom_transfer_t t = {};
  t.uPeerInfo.ui32I2CDevAddr = kI2cAddress;
  t.ui32InstrLen = 2;
  t.ui32Instr = reg;
  t.eDirection = AM_HAL_IOM_RX;
  t.ui32NumBytes = 1;
  t.pui32RxBuffer = &word;
  if (am_hal_iom_blocking_transfer(g_iom, &t) != AM_HAL_STATUS_SUCCESS) return false;
  *value = static_cast<uint8_t>(word & 0xFF);
  return true;
}

void i2c_init() {
  am_hal_iom_config_t config = {};
  config.eInterfaceMode = AM_HAL_IOM_I2C_MODE;
  config.ui32ClockFreq = AM_HAL_IOM_100KHZ;
  am_hal_iom_initialize(kIomModule, &g_iom);
  am_hal_iom_power_ctrl(g_iom, AM_HAL_SYSCTRL_WAKE, false);
  am_hal_iom_configure(g_iom, &config);
  am_bsp_iom_pins_enable(kIomModule, AM_HAL_IOM_I2C_MODE);
  am_hal_iom_enable(g_iom);
}

void mclk_start() {
  // 12 MHz HFRC into a repeating PWM whose period is two counts: a 6 MHz master clock.
  constexpr uint32_t kTimer = AM_BSP_CAMERA_HM01B0_MCLK_GEN_MOD;
  constexpr uint32_t kSegment = AM_BSP_CAMERA_HM01B0_MCLK_GEN_SEG;
  am_hal_ctimer_config_single(kTimer, kSegment, AM_HAL_CTIMER_FN_PWM_REPEAT | AM_HAL_CTIMER_HFRC_12MHZ);
  am_hal_ctimer_period_set(kTimer, kSegment, 1, 0);
  am_hal_ctimer_output_config(kTimer, kSegment, AM_BSP_CAMERA_HM01B0_MCLK_PIN, AM_HAL_CTIMER_OUTPUT_NORMAL,
                              AM_HAL_GPIO_PIN_DRIVESTRENGTH_12MA);
  am_hal_ctimer_start(kTimer, kSegment);
}

void bus_pins_init() {
  am_hal_gpio_pinconfig(AM_BSP_GPIO_CAMERA_HM01B0_D0, g_AM_BSP_GPIO_CAMERA_HM01B0_D0);
  am_hal_gpio_pinconfig(AM_BSP_GPIO_CAMERA_HM01B0_D1, g_AM_BSP_GPIO_CAMERA_HM01B0_D1);
  am_hal_gpio_pinconfig(AM_BSP_GPIO_CAMERA_HM01B0_D2, g_AM_BSP_GPIO_CAMERA_HM01B0_D2);
  am_hal_gpio_pinconfig(AM_BSP_GPIO_CAMERA_HM01B0_D3, g_AM_BSP_GPIO_CAMERA_HM01B0_D3);
  am_hal_gpio_pinconfig(AM_BSP_GPIO_CAMERA_HM01B0_D4, g_AM_BSP_GPIO_CAMERA_HM01B0_D4);
  am_hal_gpio_pinconfig(AM_BSP_GPIO_CAMERA_HM01B0_D5, g_AM_BSP_GPIO_CAMERA_HM01B0_D5);
  am_hal_gpio_pinconfig(AM_BSP_GPIO_CAMERA_HM01B0_D6, g_AM_BSP_GPIO_CAMERA_HM01B0_D6);
  am_hal_gpio_pinconfig(AM_BSP_GPIO_CAMERA_HM01B0_D7, g_AM_BSP_GPIO_CAMERA_HM01B0_D7);
  am_hal_gpio_pinconfig(AM_BSP_GPIO_CAMERA_HM01B0_VSYNC, g_AM_BSP_GPIO_CAMERA_HM01B0_VSYNC);
  am_hal_gpio_pinconfig(AM_BSP_GPIO_CAMERA_HM01B0_HSYNC, g_AM_BSP_GPIO_CAMERA_HM01B0_HSYNC);
  am_hal_gpio_pinconfig(AM_BSP_GPIO_CAMERA_HM01B0_PCLK, g_AM_BSP_GPIO_CAMERA_HM01B0_PCLK);
  am_hal_gpio_pinconfig(AM_BSP_GPIO_CAMERA_HM01B0_TRIG, g_AM_BSP_GPIO_CAMERA_HM01B0_TRIG);
  am_hal_gpio_pinconfig(AM_BSP_GPIO_CAMERA_HM01B0_INT, g_AM_BSP_GPIO_CAMERA_HM01B0_INT);
  am_hal_gpio_pinconfig(AM_BSP_GPIO_CAMERA_HM01B0_DVDDEN, g_AM_BSP_GPIO_CAMERA_HM01B0_DVDDEN);
  am_hal_gpio_state_write(AM_BSP_GPIO_CAMERA_HM01B0_TRIG, AM_HAL_GPIO_OUTPUT_CLEAR);
  am_hal_gpio_state_write(AM_BSP_GPIO_CAMERA_HM01B0_DVDDEN, AM_HAL_GPIO_OUTPUT_SET);  // sensor core supply on
}

inline uint32_t bus() { return GPIO->RDA; }

inline uint8_t pixel(uint32_t rda) {
  // D0..D4 sit at bits 24..28, D5..D7 at bits 5..7.
  return static_cast<uint8_t>(((rda >> 24) & 0x1F) | (rda & 0xE0));
}

// Spins until (bus() & mask) == want; false when the budget runs out.
inline bool wait_level(uint32_t mask, uint32_t want, uint32_t spins) {
  while ((bus() & mask) != want) {
    if (--spins == 0) return false;
  }
  return true;
}

// Reads one frame that the sensor is about to send. Interrupts stay off while pixels arrive:
// the CPU must see every PCLK edge.
bool read_frame(uint8_t* frame) {
  const uint64_t start = micros();
  while (!(bus() & kVsyncBit)) {
    if (micros() - start > kFrameStartTimeoutUs) return false;
  }
  const uint32_t irq_state = am_hal_interrupt_master_disable();
  bool ok = true;
  for (int row = 0; ok && row < kFrameHeight; ++row) {
    ok = wait_level(kHsyncBit, kHsyncBit, kEdgeSpins);
    uint8_t* out = frame + row * kFrameWidth;
    for (int col = 0; ok && col < kFrameWidth; ++col) {
      // Data is valid on the rising edge of PCLK: wait for low, then high, then sample.
      ok = wait_level(kPclkBit, 0, kEdgeSpins) && wait_level(kPclkBit, kPclkBit, kEdgeSpins);
      out[col] = pixel(bus());
    }
    ok = ok && wait_level(kHsyncBit, 0, kEdgeSpins);
  }
  am_hal_interrupt_master_set(irq_state);
  return ok;
}

bool request_frame() { return write_reg(kModeSelect, kModeNFrames); }

}  // namespace

bool camera_init() {
  bus_pins_init();
  mclk_start();
  i2c_init();
  am_util_delay_ms(10);  // power-up to first I2C access
  uint8_t id_h = 0, id_l = 0;
  if (!read_reg(kModelIdH, &id_h) || !read_reg(kModelIdL, &id_l) || id_h != 0x01 || id_l != 0xB0) {
    return false;
  }
  const bool configured = write_reg(kModeSelect, kModeStandby) && write_reg(kImageOrientation, 0x01) &&
                          write_reg(kQvgaWinEn, 0x01) && write_reg(kBitControl, 0x02) &&
                          write_reg(kPmuFrameCount, 0x01);
  return configured;
}

bool camera_capture(uint8_t* frame) {
  // The first frames after power-up are read into the caller's buffer and dropped (no extra
  // 79 KB of RAM for a scratch frame).
  while (g_frames_to_discard > 0) {
    if (!request_frame() || !read_frame(frame)) return false;
    --g_frames_to_discard;
  }
  return request_frame() && read_frame(frame);
}

}  // namespace vww::edge
