// What TFLM asks of its target, for the host (x86-64) build of the classifier test: logging to stderr and
// no timer (TFLM only uses it for profiling). The board builds use the tree's cortex_m_generic versions.
#include <cstdarg>
#include <cstdint>
#include <cstdio>

extern "C" void DebugLog(const char* format, va_list args) { std::vfprintf(stderr, format, args); }

extern "C" int DebugVsnprintf(char* buffer, size_t buf_size, const char* format, va_list vlist) {
  return std::vsnprintf(buffer, buf_size, format, vlist);
}

namespace tflite {
uint32_t ticks_per_second() { return 0; }
uint32_t GetCurrentTimeTicks() { return 0; }
}  // namespace tflite
