// Himax HM01B0 camera on the SparkFun Edge, through the vendor driver that ships in the Edge BSP
// (SparkFun_Apollo3_AmbiqSuite_BSPs common/third_party/hm01b0/, compiled from the dependency directory by
// firmware/platformio/vww_post.py). Bring-up follows the upstream TFLM person_detection sparkfun_edge
// image_provider: DVDD on, hm01b0_power_up, hm01b0_mclk_enable, hm01b0_init_if, then hm01b0_init_system with
// the vendor's sHM01B0InitScript (analog timing, black level, defect correction, auto-exposure on, QVGA
// window, 8-bit output), which leaves the sensor in standby. Frames are requested with the driver's
// hm01b0_set_mode(N frames) and auto-exposure is read back with hm01b0_get_ae.
//
// The frame read is ours, not the driver's hm01b0_blocking_read_oneframe, because that loop (a) spins
// without bound on every strobe, so a missing or unplugged sensor hangs the board; (b) never waits for the
// start of a frame, so a late call splices two frames; (c) prints through am_util_stdio_printf on every
// call; and (d) cannot report what it counted. Ours samples the same signals the same way (strobes from
// GPIO->RDA, the data byte from the fast-GPIO register APBDMA->BBINPUT after PCLK rises, set up by
// hm01b0_init_if), with a bounded wait on every edge, and counts lines and pixels as it goes. For the same
// reasons the auto-exposure wait is ours around the driver's hm01b0_get_ae rather than hm01b0_cal_ae.
#include "edge.h"
#include "probe_logic.h"
#include "sdk.h"

extern "C" {
#include "HM01B0.h"
// The vendor's init script: a const array defined in this header, so it is included in this file only.
#include "HM01B0_RAW8_QVGA_8bits_lsb_5fps.h"
}

namespace vww::edge {
namespace {

constexpr uint16_t kRegTestPattern = 0x0601;  // set to 0x11 by the walking-ones script, 0x00 = off

constexpr uint32_t kVsyncBit = 1u << AM_BSP_GPIO_CAMERA_HM01B0_VSYNC;
constexpr uint32_t kHsyncBit = 1u << AM_BSP_GPIO_CAMERA_HM01B0_HSYNC;
constexpr uint32_t kPclkBit = 1u << AM_BSP_GPIO_CAMERA_HM01B0_PCLK;
// Polling budgets. A pixel clock edge comes within a few hundred CPU cycles and the gap between two lines
// is a few thousand; the whole inactive part of a frame (thousands of blank lines) is far longer than
// kEdgeSpins, which is how the end of a frame is told apart from the gap between lines. They only exist so
// that a missing or unplugged sensor cannot hang the board.
constexpr uint32_t kEdgeSpins = 200000;
// A requested frame starts within one frame period (the vendor script is named 5 fps); generous, because a
// capture that gives up early is a failed inference.
constexpr uint64_t kFrameStartTimeoutUs = 2000000;
// Bounded auto-exposure wait (replaces upstream's blind 4-frame drop).
constexpr uint16_t kMaxAeFrames = 12;
constexpr uint32_t kTimingFrames = 3;  // two frame periods timed
// The probes keep every kProbeRowStride-th row of a frame (10 KB, not a 79 KB frame: the frame buffer is the
// core's), starting at a different row in each of kProbeRowStride consecutive frames, so that those frames
// together cover every row of a frame once: 244 = 8 x 30 + 4 rows, at most 31 per frame.
constexpr int kProbeRowStride = 8;
constexpr int kProbeRows = (kFrameHeight + kProbeRowStride - 1) / kProbeRowStride;
uint8_t g_probe_rows[kProbeRows * kFrameWidth];

hm01b0_cfg_t g_cfg;
bool g_ready = false;
probe::AeWait g_ae;
uint8_t g_ae_mean = 0;

void fill_config(hm01b0_cfg_t* c) {
  // The upstream image_provider's s_HM01B0Cfg; the BSP macros are what the driver's platform.h renames.
  *c = hm01b0_cfg_t{};
  c->ui16SlvAddr = HM01B0_DEFAULT_ADDRESS;
  c->eIOMMode = AM_HAL_IOM_I2C_MODE;
  c->ui32IOMModule = AM_BSP_CAMERA_HM01B0_I2C_IOM;
  c->sIOMCfg.eInterfaceMode = AM_HAL_IOM_I2C_MODE;
  c->sIOMCfg.ui32ClockFreq = AM_HAL_IOM_100KHZ;
  c->pIOMHandle = nullptr;
  c->ui32CTimerModule = AM_BSP_CAMERA_HM01B0_MCLK_GEN_MOD;
  c->ui32CTimerSegment = AM_BSP_CAMERA_HM01B0_MCLK_GEN_SEG;
  c->ui32CTimerOutputPin = AM_BSP_CAMERA_HM01B0_MCLK_PIN;
  c->ui8PinSCL = AM_BSP_CAMERA_HM01B0_I2C_SCL_PIN;
  c->ui8PinSDA = AM_BSP_CAMERA_HM01B0_I2C_SDA_PIN;
  c->ui8PinD0 = AM_BSP_GPIO_CAMERA_HM01B0_D0;
  c->ui8PinD1 = AM_BSP_GPIO_CAMERA_HM01B0_D1;
  c->ui8PinD2 = AM_BSP_GPIO_CAMERA_HM01B0_D2;
  c->ui8PinD3 = AM_BSP_GPIO_CAMERA_HM01B0_D3;
  c->ui8PinD4 = AM_BSP_GPIO_CAMERA_HM01B0_D4;
  c->ui8PinD5 = AM_BSP_GPIO_CAMERA_HM01B0_D5;
  c->ui8PinD6 = AM_BSP_GPIO_CAMERA_HM01B0_D6;
  c->ui8PinD7 = AM_BSP_GPIO_CAMERA_HM01B0_D7;
  c->ui8PinVSYNC = AM_BSP_GPIO_CAMERA_HM01B0_VSYNC;
  c->ui8PinHSYNC = AM_BSP_GPIO_CAMERA_HM01B0_HSYNC;
  c->ui8PinPCLK = AM_BSP_GPIO_CAMERA_HM01B0_PCLK;
  c->ui8PinTrig = AM_BSP_GPIO_CAMERA_HM01B0_TRIG;
  c->ui8PinInt = AM_BSP_GPIO_CAMERA_HM01B0_INT;
  c->pfnGpioIsr = nullptr;
}

uint32_t script_length(const hm_script_t* begin, size_t bytes) {
  (void)begin;
  return static_cast<uint32_t>(bytes / sizeof(hm_script_t));
}

bool load_init_script() {
  // The driver takes a non-const pointer but only reads the script (as upstream, which cast it the same way).
  return hm01b0_init_system(&g_cfg, const_cast<hm_script_t*>(sHM01B0InitScript),
                            script_length(sHM01B0InitScript, sizeof(sHM01B0InitScript))) == HM01B0_ERR_OK;
}

inline uint32_t strobes() { return GPIO->RDA; }
// D0..D7 (pads 24..28, 5..7) in one byte: hm01b0_init_if configures them as fast GPIO inputs, whose bit is
// the pad number modulo 8. Read as the vendor driver does.
inline uint8_t data_byte() { return static_cast<uint8_t>(APBDMA->BBINPUT); }

// Where read_frame() puts pixels: frame rows phase, phase + stride, ... one after the other in `out`, at most
// `rows` of them. A full capture is stride 1, kFrameHeight rows.
struct Sink {
  uint8_t* out;
  int rows;
  int stride;
  int phase;
};

// Reads one frame that the sensor is about to send (a frame has been requested). Waits for VSYNC with
// interrupts on, then reads with interrupts off: at the sensor's pixel clock an interrupt handler of a few
// microseconds skips dozens of pixels, which is how users got scrambled frames with interrupts running
// (Arduino_Apollo3 #384). Lines are counted as HSYNC pulses and pixels as PCLK rising edges while HSYNC is
// high; the frame ends when VSYNC falls (or no line follows within kEdgeSpins, in case VSYNC is a pulse).
bool read_frame(const Sink& sink, FrameCounts* counts) {
  *counts = FrameCounts{};
  const uint64_t start = micros();
  while (!(strobes() & kVsyncBit)) {
    if (micros() - start > kFrameStartTimeoutUs) return false;
  }
  counts->start_us = micros();
  const uint32_t irq_state = am_hal_interrupt_master_disable();
  bool ok = true;
  uint32_t row = 0;
  int stored = 0;
  uint16_t min_pixels = UINT16_MAX;
  // HM01B0 VSYNC is a frame-valid level (high while lines come); should it be a short pulse instead, it is
  // low when the first line starts and only the silence after the last line ends the frame.
  bool vsync_is_level = false;
  for (;;) {
    // Next line: HSYNC rises. VSYNC falling after a line, or a long silence, ends the frame.
    uint32_t spins = kEdgeSpins;
    uint32_t s;
    do {
      s = strobes();
    } while (!(s & kHsyncBit) && (row == 0 || !vsync_is_level || (s & kVsyncBit)) && --spins);
    if (!(s & kHsyncBit)) {
      ok = row > 0;
      break;
    }
    if (row == 0) vsync_is_level = (s & kVsyncBit) != 0;
    const bool keep =
        stored < sink.rows && row % static_cast<uint32_t>(sink.stride) == static_cast<uint32_t>(sink.phase);
    uint8_t* out = keep ? sink.out + stored * kFrameWidth : nullptr;
    uint32_t col = 0;
    for (;;) {
      // Data is valid once PCLK has risen (sampled there, as the vendor driver does); HSYNC falling ends
      // the line.
      spins = kEdgeSpins;
      do {
        s = strobes();
      } while (!(s & kPclkBit) && (s & kHsyncBit) && --spins);
      if (!(s & kHsyncBit)) break;
      if (spins == 0) {
        ok = false;
        break;
      }
      const uint8_t value = data_byte();
      if (out != nullptr && col < static_cast<uint32_t>(kFrameWidth)) out[col] = value;
      ++col;
      spins = kEdgeSpins;
      while ((strobes() & kPclkBit) && --spins) {
      }
      if (spins == 0) {
        ok = false;
        break;
      }
    }
    if (!ok) break;
    if (keep) ++stored;
    if (col < min_pixels) min_pixels = static_cast<uint16_t>(col > UINT16_MAX ? UINT16_MAX : col);
    ++row;
  }
  am_hal_interrupt_master_set(irq_state);
  counts->lines = static_cast<uint16_t>(row > UINT16_MAX ? UINT16_MAX : row);
  counts->pixels_per_line = row > 0 ? min_pixels : 0;
  counts->rows_stored = static_cast<uint16_t>(stored);
  return ok;
}

bool request_frames(uint8_t n) {
  return hm01b0_set_mode(&g_cfg, HM01B0_REG_MODE_SELECT_STREAMING_NFRAMES, n) == HM01B0_ERR_OK;
}

bool standby() { return hm01b0_set_mode(&g_cfg, HM01B0_REG_MODE_SELECT_STANDBY, 0) == HM01B0_ERR_OK; }

Sink probe_sink(int phase) { return Sink{g_probe_rows, kProbeRows, kProbeRowStride, phase}; }

// Streams up to kMaxAeFrames frames (one request, as the driver's hm01b0_cal_ae does) and stops at the first
// frame after which the sensor reports its auto-exposure mean within the convergence threshold of the target.
bool auto_exposure_wait() {
  if (!request_frames(kMaxAeFrames)) return false;
  FrameCounts counts;
  const bool read = probe::wait_for_auto_exposure(
      kMaxAeFrames,
      [&] {
        if (!read_frame(probe_sink(0), &counts)) return false;
        g_ae_mean = probe::mean(g_probe_rows, static_cast<size_t>(counts.rows_stored) * kFrameWidth);
        return true;
      },
      [] { return hm01b0_get_ae(&g_cfg, nullptr) == HM01B0_ERR_OK; }, &g_ae);
  // Leaves the remaining requested frames unread: standby stops them.
  return standby() && read;
}

}  // namespace

bool camera_init() {
  fill_config(&g_cfg);
  // The sensor's 1.8 V core supply (DVDD regulator enable), as upstream: 12 mA output, high.
  am_hal_gpio_pinconfig(AM_BSP_GPIO_CAMERA_HM01B0_DVDDEN, g_AM_HAL_GPIO_OUTPUT_12);
  am_hal_gpio_output_set(AM_BSP_GPIO_CAMERA_HM01B0_DVDDEN);
  hm01b0_power_up(&g_cfg);
  am_util_delay_ms(1);
  hm01b0_mclk_enable(&g_cfg);
  am_util_delay_ms(1);
  if (hm01b0_init_if(&g_cfg) != HM01B0_ERR_OK) return false;
  if (!load_init_script()) return false;
  uint16_t id = 0;
  if (hm01b0_get_modelid(&g_cfg, &id) != HM01B0_ERR_OK || id != kHm01b0ModelId) return false;
  g_ready = true;
  // A sensor that answers but sends no frame still counts as present: the self-test names what is wrong.
  auto_exposure_wait();
  return true;
}

bool camera_capture(uint8_t* frame) {
  if (!g_ready) return false;
  FrameCounts counts;
  if (!request_frames(1) || !read_frame(Sink{frame, kFrameHeight, 1, 0}, &counts)) return false;
  // A short frame would leave part of the caller's buffer stale.
  return counts.rows_stored == kFrameHeight;
}

bool camera_model_id(uint16_t* id) {
  if (g_cfg.pIOMHandle == nullptr) return false;  // the I2C interface never came up
  return hm01b0_get_modelid(&g_cfg, id) == HM01B0_ERR_OK;
}

// Compares one whole frame's worth of pixels, every row once, taken from kProbeRowStride consecutive frames of
// the test pattern (`frames` >= 1 asks for no more: the pattern is the same in every frame, and each extra
// frame's worth would cost another kProbeRowStride frames of SELFTEST time).
bool camera_walking_ones(uint32_t frames, uint32_t mismatches[8], uint32_t* pixels) {
  if (!g_ready) return false;
  for (int bit = 0; bit < 8; ++bit) mismatches[bit] = 0;
  *pixels = 0;
  (void)frames;
  bool ok = hm01b0_test_walking1s(&g_cfg) == HM01B0_ERR_OK && request_frames(kProbeRowStride);
  for (int f = 0; ok && f < kProbeRowStride; ++f) {
    FrameCounts counts;
    ok = read_frame(probe_sink(f), &counts);
    for (int r = 0; ok && r < counts.rows_stored; ++r) {
      // Only the pixels the line really had: a short line is also what pixels_per_line reports.
      const size_t n = counts.pixels_per_line < kFrameWidth ? counts.pixels_per_line : kFrameWidth;
      probe::count_walking_ones(g_probe_rows + r * kFrameWidth, n, mismatches);
      *pixels += static_cast<uint32_t>(n);
    }
  }
  // Back to the normal configuration whatever happened: standby, test pattern off, the vendor script again
  // (it starts with a software reset), and auto-exposure settled again.
  uint8_t off = 0x00;
  const bool restored =
      standby() & (hm01b0_write_reg(&g_cfg, kRegTestPattern, &off, 1) == HM01B0_ERR_OK) & load_init_script();
  auto_exposure_wait();
  return ok && restored;
}

bool camera_frame_timing(FrameCounts* last, uint32_t* fps_milli) {
  if (!g_ready) return false;
  bool ok = request_frames(kTimingFrames);
  FrameCounts counts[kTimingFrames];
  // Nothing kept: only what the loop counts.
  const Sink count_only = {nullptr, 0, 1, 0};
  for (uint32_t f = 0; ok && f < kTimingFrames; ++f) ok = read_frame(count_only, &counts[f]);
  standby();
  if (!ok) return false;
  *last = counts[kTimingFrames - 1];
  *fps_milli = probe::fps_milli(kTimingFrames - 1, counts[kTimingFrames - 1].start_us - counts[0].start_us);
  return true;
}

bool camera_exposure(bool* converged, uint8_t* mean, uint16_t* frames) {
  if (!g_ready) return false;
  const bool ok = auto_exposure_wait();
  *converged = g_ae.converged;
  *mean = g_ae_mean;
  *frames = g_ae.frames;
  return ok && g_ae.frames > 0;
}

}  // namespace vww::edge
