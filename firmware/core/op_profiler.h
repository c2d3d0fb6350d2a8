// Instructions per operator, for builds made with -DVWW_OP_PROFILE (`vwwdeploy firmware build --board qemu
// --op-profile`). TFLM's interpreter brackets each op's Invoke() with BeginEvent()/EndEvent() when it has a
// profiler; this one reads the board's instruction counter at both ends and, after each inference, prints
// one line per op through MicroPrintf (the QEMU board sends those to semihosting, i.e. QEMU's stderr):
//   vww-op <index> <op name> <instructions>
//   vww-op-end <op count>
// Header-only and included only by tflm_classifier.cc, so builds without TFLM never see it.
#ifndef VWW_CORE_OP_PROFILER_H_
#define VWW_CORE_OP_PROFILER_H_

#include <cstdint>

#include "board.h"
#include "tensorflow/lite/micro/micro_log.h"
#include "tensorflow/lite/micro/micro_profiler_interface.h"

namespace vww {

class OpProfiler final : public tflite::MicroProfilerInterface {
 public:
  static constexpr uint32_t kMaxOps = 128;

  uint32_t BeginEvent(const char* tag) override {
    const uint32_t handle = count_ < kMaxOps ? count_++ : kMaxOps - 1;
    tags_[handle] = tag;
    start_[handle] = board::instruction_count();
    return handle;
  }

  void EndEvent(uint32_t handle) override { instructions_[handle] = board::instruction_count() - start_[handle]; }

  void start() { count_ = 0; }

  void report() const {
    for (uint32_t i = 0; i < count_; ++i) {
      MicroPrintf("vww-op %u %s %lu", static_cast<unsigned>(i), tags_[i], static_cast<unsigned long>(instructions_[i]));
    }
    MicroPrintf("vww-op-end %u", static_cast<unsigned>(count_));
  }

 private:
  uint32_t count_ = 0;
  const char* tags_[kMaxOps] = {};
  uint64_t start_[kMaxOps] = {};
  uint64_t instructions_[kMaxOps] = {};
};

}  // namespace vww

#endif  // VWW_CORE_OP_PROFILER_H_
