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

// What the camera probes measure (board.h's FrameTiming / Exposure, in the core's own types).
struct FrameTiming {
  uint32_t fps_milli = 0;
  uint16_t pixels_per_line = 0;
  uint16_t lines_per_frame = 0;
};
struct Exposure {
  bool converged = false;
  uint8_t mean = 0;
  uint16_t frames_waited = 0;
};

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

  // Self-test probes (board.h documents each; SELFTEST in docs/protocol.md). Defaults: no such hardware.
  // camera_fitted(): the board is built with a camera, so a silent sensor is a failure, not "not applicable".
  virtual bool camera_fitted() { return false; }
  // The UART loses bytes while a frame is read (docs/protocol.md, "Capture windows"): streams then leave a
  // listen window between groups.
  virtual bool deaf_during_capture() { return false; }
  virtual bool camera_model_id(uint16_t* /*id*/) { return false; }
  virtual bool camera_walking_ones(uint32_t /*frames*/, uint32_t /*mismatches*/[8], uint32_t* /*pixels*/) {
    return false;
  }
  virtual bool camera_frame_timing(FrameTiming* /*timing*/) { return false; }
  virtual bool camera_exposure(Exposure* /*exposure*/) { return false; }
  virtual bool measured_clock_hz(uint32_t* /*hz*/) { return false; }
  virtual bool stack_usage(uint32_t* /*used*/, uint32_t* /*reserved*/) { return false; }
  // Silence after which a partial request is abandoned (docs/protocol.md section 1, step 4). 100 ms suits a
  // UART fed at its baud rate; an emulator that hands the guest one byte per host I/O-loop turn has gaps
  // set by the host's scheduler and needs longer (VWW_BOARD_INTER_BYTE_TIMEOUT_US).
  virtual uint64_t inter_byte_timeout_us() { return kDefaultInterByteTimeoutUs; }
  static constexpr uint64_t kDefaultInterByteTimeoutUs = 100000;

 protected:
  ~Platform() = default;
};

}  // namespace vww

#endif  // VWW_CORE_PLATFORM_H_
