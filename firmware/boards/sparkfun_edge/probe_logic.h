// The arithmetic behind the Edge's self-test probes, kept apart from the hardware access so that it is
// unit-tested on the host (firmware/tests/edge_probe_logic_test.cc). Nothing here includes an SDK header.
#ifndef VWW_EDGE_PROBE_LOGIC_H_
#define VWW_EDGE_PROBE_LOGIC_H_

#include <cstddef>
#include <cstdint>

namespace vww::edge::probe {

// ---- Walking ones (HM01B0 test pattern 0x0601 = 0x11, vendor script HM01B0_Walking1s_01.h) ----
// The sensor sends 0x01, 0x02, ..., 0x80, 0x00 and again from 0x01: a period of nine pixels, in which
// every data line is high exactly once and all are low once, so a stuck, open or swapped line shows up
// as mismatches on its own bit.
constexpr int kWalkingOnesPeriod = 9;
uint8_t walking_ones_at(int phase);  // phase 0 -> 0x01, ..., 7 -> 0x80, 8 -> 0x00

// The phase (0..8) of pixels[0] that makes the fewest bit mismatches over the row: the vendor's check
// takes the first pixel as the start, which misaligns the whole row when that pixel is itself corrupt.
int walking_ones_phase(const uint8_t* pixels, size_t n);

// Adds, for each data bit D0..D7, the pixels of the row whose bit differs from the pattern aligned by
// walking_ones_phase(); returns the phase used.
int count_walking_ones(const uint8_t* pixels, size_t n, uint32_t mismatches[8]);

// ---- Stack high-water mark ----
// Painted at boot over the free stack; a word that still holds it was never written.
constexpr uint32_t kStackPaint = 0x5A17C0DEu;
void paint(uint32_t* begin, uint32_t* end);
// Bytes of [begin, end) in use at some point: the stack grows down from `end`, so the count of words that
// still hold the paint, from `begin` upwards, is what was never reached.
uint32_t stack_used(const uint32_t* begin, const uint32_t* end);

// ---- Frames and clocks ----
// Frames per second x 1000 from `frames` frame periods measured over `elapsed_us`; 0 when nothing was timed.
uint32_t fps_milli(uint32_t frames, uint64_t elapsed_us);

// Core clock in Hz from `cycles` CPU cycles counted over `ticks` of a timer running at `tick_hz`; 0 when
// no tick elapsed.
uint32_t clock_hz_from_counts(uint32_t cycles, uint32_t ticks, uint32_t tick_hz);

// Mean pixel value (0..255), rounded; 0 for an empty buffer.
uint8_t mean(const uint8_t* pixels, size_t n);

// Bounded auto-exposure wait: reads up to `max_frames` frames and asks the sensor after each one whether its
// auto-exposure has converged. `read_frame()` returns false when no frame came; `converged()` reads the
// sensor's AE state. Returns false only when a frame could not be read.
struct AeWait {
  bool converged = false;
  uint16_t frames = 0;
};
template <typename ReadFrame, typename Converged>
bool wait_for_auto_exposure(uint16_t max_frames, ReadFrame read_frame, Converged converged, AeWait* out) {
  *out = AeWait{};
  while (out->frames < max_frames) {
    if (!read_frame()) return false;
    ++out->frames;
    if (converged()) {
      out->converged = true;
      break;
    }
  }
  return true;
}

}  // namespace vww::edge::probe

#endif  // VWW_EDGE_PROBE_LOGIC_H_
