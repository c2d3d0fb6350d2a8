#include "probe_logic.h"

namespace vww::edge::probe {

uint8_t walking_ones_at(int phase) {
  phase %= kWalkingOnesPeriod;
  return phase == 8 ? 0x00 : static_cast<uint8_t>(1u << phase);
}

namespace {
int popcount8(uint8_t v) {
  int n = 0;
  for (; v != 0; v &= static_cast<uint8_t>(v - 1)) ++n;
  return n;
}
}  // namespace

int walking_ones_phase(const uint8_t* pixels, size_t n) {
  int best_phase = 0;
  uint32_t best = UINT32_MAX;
  for (int phase = 0; phase < kWalkingOnesPeriod; ++phase) {
    uint32_t wrong = 0;
    for (size_t i = 0; i < n; ++i) {
      wrong += popcount8(static_cast<uint8_t>(pixels[i] ^ walking_ones_at(phase + static_cast<int>(i % 9))));
    }
    if (wrong < best) {
      best = wrong;
      best_phase = phase;
    }
  }
  return best_phase;
}

int count_walking_ones(const uint8_t* pixels, size_t n, uint32_t mismatches[8]) {
  const int phase = walking_ones_phase(pixels, n);
  for (size_t i = 0; i < n; ++i) {
    const uint8_t diff = pixels[i] ^ walking_ones_at(phase + static_cast<int>(i % 9));
    for (int bit = 0; bit < 8; ++bit) {
      if (diff & (1u << bit)) ++mismatches[bit];
    }
  }
  return phase;
}

void paint(uint32_t* begin, uint32_t* end) {
  // volatile: the region lies below the stack pointer, where the compiler assumes nothing lives.
  for (volatile uint32_t* p = begin; p < end; ++p) *p = kStackPaint;
}

uint32_t stack_used(const uint32_t* begin, const uint32_t* end) {
  const volatile uint32_t* p = begin;
  while (p < end && *p == kStackPaint) ++p;
  return static_cast<uint32_t>(reinterpret_cast<uintptr_t>(end) - reinterpret_cast<uintptr_t>(p));
}

uint32_t fps_milli(uint32_t frames, uint64_t elapsed_us) {
  if (elapsed_us == 0) return 0;
  return static_cast<uint32_t>((static_cast<uint64_t>(frames) * 1000000000ull + elapsed_us / 2) / elapsed_us);
}

uint32_t clock_hz_from_counts(uint32_t cycles, uint32_t ticks, uint32_t tick_hz) {
  if (ticks == 0) return 0;
  return static_cast<uint32_t>((static_cast<uint64_t>(cycles) * tick_hz + ticks / 2) / ticks);
}

uint8_t mean(const uint8_t* pixels, size_t n) {
  if (n == 0) return 0;
  uint64_t sum = 0;
  for (size_t i = 0; i < n; ++i) sum += pixels[i];
  return static_cast<uint8_t>((sum + n / 2) / n);
}

}  // namespace vww::edge::probe
