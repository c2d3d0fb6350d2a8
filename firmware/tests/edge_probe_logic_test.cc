// Host tests of the SparkFun Edge's self-test arithmetic (firmware/boards/sparkfun_edge/probe_logic.*):
// walking-ones alignment and per-bit mismatch counts, stack paint and scan, fps and clock arithmetic, the
// bounded auto-exposure wait. Built and run by tests/test_edge_probe_logic.py (not part of core_tests:
// the file name does not start with test_).
#include <cstring>
#include <vector>

#include "harness.h"
#include "probe_logic.h"

namespace p = vww::edge::probe;

namespace {
// `n` pixels of the sensor's walking-ones pattern starting at `phase`.
std::vector<uint8_t> walking(size_t n, int phase) {
  std::vector<uint8_t> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = p::walking_ones_at(phase + static_cast<int>(i % 9));
  return v;
}
}  // namespace

TEST(walking_ones_pattern_is_the_vendor_sequence) {
  // The vendor check: start 0x01, shift left, 0x80 << 1 is 0x00, 0x00 is followed by 0x01.
  uint8_t expected = 0x01;
  for (int i = 0; i < 27; ++i) {
    CHECK_EQ(p::walking_ones_at(i), expected);
    expected = expected ? static_cast<uint8_t>(expected << 1) : 0x01;
  }
}

TEST(walking_ones_clean_row_has_no_mismatch_at_any_phase) {
  for (int phase = 0; phase < 9; ++phase) {
    const auto row = walking(324, phase);
    uint32_t mism[8] = {};
    CHECK_EQ(p::count_walking_ones(row.data(), row.size(), mism), phase);
    for (int b = 0; b < 8; ++b) CHECK_EQ(mism[b], 0u);
  }
}

TEST(walking_ones_stuck_low_line_is_named) {
  auto row = walking(324, 4);
  for (auto& v : row) v &= static_cast<uint8_t>(~(1u << 5));  // D5 stuck low
  uint32_t mism[8] = {};
  CHECK_EQ(p::count_walking_ones(row.data(), row.size(), mism), 4);
  for (int b = 0; b < 8; ++b) CHECK_EQ(mism[b], b == 5 ? 36u : 0u);  // 324 / 9 pixels carry D5 high
}

TEST(walking_ones_stuck_high_line_is_named_even_on_the_first_pixel) {
  // D0 stuck high corrupts pixel 0 too: seeding from the first pixel (the vendor check) would misalign.
  auto row = walking(324, 2);
  for (auto& v : row) v |= 0x01;
  uint32_t mism[8] = {};
  CHECK_EQ(p::count_walking_ones(row.data(), row.size(), mism), 2);
  for (int b = 0; b < 8; ++b) CHECK_EQ(mism[b], b == 0 ? 288u : 0u);  // 8 of every 9 pixels have D0 low
}

TEST(walking_ones_swapped_lines_show_on_both_bits) {
  auto row = walking(324, 0);
  for (auto& v : row) {
    const uint8_t d2 = (v >> 2) & 1, d3 = (v >> 3) & 1;
    v = static_cast<uint8_t>((v & ~0x0Cu) | (d2 << 3) | (d3 << 2));
  }
  uint32_t mism[8] = {};
  p::count_walking_ones(row.data(), row.size(), mism);
  for (int b = 0; b < 8; ++b) CHECK_EQ(mism[b], (b == 2 || b == 3) ? 72u : 0u);
}

TEST(walking_ones_counts_accumulate_over_rows) {
  auto row = walking(18, 0);
  row[3] ^= 0x80;
  uint32_t mism[8] = {};
  p::count_walking_ones(row.data(), row.size(), mism);
  p::count_walking_ones(row.data(), row.size(), mism);
  CHECK_EQ(mism[7], 2u);
}

TEST(stack_scan_finds_the_deepest_write) {
  uint32_t stack[256];
  p::paint(stack, stack + 256);
  CHECK_EQ(p::stack_used(stack, stack + 256), 0u);
  stack[255] = 0;  // the top word
  CHECK_EQ(p::stack_used(stack, stack + 256), 4u);
  stack[100] = 1;  // deepest frame reached word 100: everything above counts as used
  CHECK_EQ(p::stack_used(stack, stack + 256), (256u - 100u) * 4u);
  stack[0] = 2;  // overflowed to the bottom
  CHECK_EQ(p::stack_used(stack, stack + 256), 1024u);
}

TEST(stack_paint_covers_only_its_range) {
  uint32_t words[8] = {1, 2, 3, 4, 5, 6, 7, 8};
  p::paint(words + 2, words + 6);
  CHECK_EQ(words[1], 2u);
  CHECK_EQ(words[2], p::kStackPaint);
  CHECK_EQ(words[5], p::kStackPaint);
  CHECK_EQ(words[6], 7u);
}

TEST(fps_from_frame_periods) {
  CHECK_EQ(p::fps_milli(2, 400000), 5000u);  // two periods of 200 ms: 5 fps
  CHECK_EQ(p::fps_milli(1, 3000000), 333u);  // rounded
  CHECK_EQ(p::fps_milli(2, 0), 0u);
}

TEST(clock_from_cycle_and_tick_counts) {
  // 10 ms of a 3 MHz timer: 960,000 cycles at 96 MHz, 480,000 at 48 MHz.
  CHECK_EQ(p::clock_hz_from_counts(960000, 30000, 3000000), 96000000u);
  CHECK_EQ(p::clock_hz_from_counts(480000, 30000, 3000000), 48000000u);
  CHECK_EQ(p::clock_hz_from_counts(479999, 30000, 3000000), 47999900u);
  CHECK_EQ(p::clock_hz_from_counts(4000000000u, 3000000, 3000000), 4000000000u);  // 1.2e16 in between
  CHECK_EQ(p::clock_hz_from_counts(1000, 0, 3000000), 0u);
}

TEST(mean_of_pixels) {
  const uint8_t px[4] = {0, 255, 10, 11};
  CHECK_EQ(p::mean(px, 4), 69);  // 276 / 4
  CHECK_EQ(p::mean(px, 0), 0);
}

TEST(ae_wait_stops_at_convergence) {
  int reads = 0;
  p::AeWait w;
  const bool ok = p::wait_for_auto_exposure(12, [&] { return ++reads > 0; }, [&] { return reads == 3; }, &w);
  CHECK(ok);
  CHECK(w.converged);
  CHECK_EQ(w.frames, 3);
  CHECK_EQ(reads, 3);
}

TEST(ae_wait_is_bounded) {
  int reads = 0;
  p::AeWait w;
  CHECK(p::wait_for_auto_exposure(5, [&] { return ++reads > 0; }, [] { return false; }, &w));
  CHECK(!w.converged);
  CHECK_EQ(w.frames, 5);
}

TEST(ae_wait_reports_a_missing_frame) {
  int reads = 0;
  p::AeWait w;
  CHECK(!p::wait_for_auto_exposure(5, [&] { return ++reads < 3; }, [] { return false; }, &w));
  CHECK_EQ(w.frames, 2);
  CHECK(!w.converged);
}
