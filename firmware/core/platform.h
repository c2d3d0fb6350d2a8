// The command loop's view of the board, as two small interfaces so host tests can substitute fakes.
// app_main.cc adapts vww::board::* (board.h) to them.
#ifndef VWW_CORE_PLATFORM_H_
#define VWW_CORE_PLATFORM_H_

#include <cstddef>
#include <cstdint>

#include "framing.h"

namespace vww {

// The byte link to the host (the UART).
class Transport : public ByteSink {
 public:
  // Non-blocking: bytes available now, 0 if none.
  virtual size_t read(uint8_t* buf, size_t max) = 0;

 protected:
  ~Transport() = default;
};

enum class LedId : uint8_t { kHeartbeat, kPerson, kNoPerson, kError };

// Everything else the loop asks of the board.
class Platform {
 public:
  virtual uint64_t micros() = 0;
  virtual uint64_t instruction_count() = 0;  // 0 when the board cannot count
  virtual bool camera_available() = 0;
  virtual bool camera_capture(uint8_t* raw) = 0;  // kRawFrameBytes
  virtual void led(LedId which, bool on) = 0;
  virtual const char* name() = 0;
  virtual uint32_t clock_hz() = 0;

 protected:
  ~Platform() = default;
};

}  // namespace vww

#endif  // VWW_CORE_PLATFORM_H_
