// Fakes for driving CommandLoop on the host: a scripted byte link, a controllable board, a simple classifier.
#ifndef VWW_TESTS_FAKES_H_
#define VWW_TESTS_FAKES_H_

#include <cstring>
#include <deque>
#include <vector>

#include "classifier.h"
#include "platform.h"
#include "test_util.h"

namespace vwwtest {

class FakeTransport : public vww::Transport {
 public:
  size_t max_per_read = 1 << 20;  // 1: the host's bytes trickle in one at a time
  std::deque<uint8_t> incoming;
  Bytes sent;
  void push(const Bytes& b) { incoming.insert(incoming.end(), b.begin(), b.end()); }
  size_t read(uint8_t* buf, size_t max) override {
    size_t n = 0;
    while (n < max && n < max_per_read && !incoming.empty()) {
      buf[n++] = incoming.front();
      incoming.pop_front();
    }
    return n;
  }
  void write(const uint8_t* data, size_t n) override { sent.insert(sent.end(), data, data + n); }
};

class FakePlatform : public vww::Platform {
 public:
  uint64_t now_us = 1000;
  uint64_t tick_us = 0;  // added at every micros() call, so an inference takes measurable time
  uint64_t instructions = 0;
  uint64_t instructions_per_call = 0;
  bool has_camera = false;
  bool camera_ok = true;
  Bytes camera_frame = Bytes(324 * 244, 0);
  int captures = 0;
  uint64_t capture_us = 0;  // how long a capture takes (advances the clock)
  bool leds[4] = {false, false, false, false};
  uint64_t micros() override {
    now_us += tick_us;
    return now_us;
  }
  uint64_t instruction_count() override {
    instructions += instructions_per_call;
    return instructions;
  }
  bool camera_available() override { return has_camera; }
  bool camera_capture(uint8_t* raw) override {
    ++captures;
    now_us += capture_us;
    if (!camera_ok) return false;
    std::memcpy(raw, camera_frame.data(), camera_frame.size());
    return true;
  }
  void led(vww::LedId which, bool on) override { leds[static_cast<int>(which)] = on; }
  const char* name() override { return "fake_board"; }
  uint32_t clock_hz() override { return 48000000; }
};

// Input [1,H,W,C] int8 (96x96x1 by default); output [1,2] int8: scores[1] = clamp(mean(input)), scores[0] =
// -scores[1]. The "mean classifier" of the device-behaviour vectors (vwwdeploy/testing/mean_classifier.py).
class FakeClassifier : public vww::Classifier {
 public:
  explicit FakeClassifier(int channels = 1, int height = 96, int width = 96) {
    in_.dtype = vww::kDtypeInt8;
    in_.rank = 4;
    in_.dims[0] = 1;
    in_.dims[1] = static_cast<uint16_t>(height);
    in_.dims[2] = static_cast<uint16_t>(width);
    in_.dims[3] = static_cast<uint16_t>(channels);
    in_.scale = 2.0f / 255.0f;
    in_.zero_point = -1;
    out_.dtype = vww::kDtypeInt8;
    out_.rank = 2;
    out_.dims[0] = 1;
    out_.dims[1] = 2;
    out_.scale = 1.0f / 256.0f;
    out_.zero_point = -128;
    input_.resize(in_.element_count());
    for (int i = 0; i < 32; ++i) sha_[i] = static_cast<uint8_t>(0xA0 + i);
  }
  bool is_ready = true;
  bool fail_invoke = false;
  int invokes = 0;
  std::vector<int8_t> last_input;

  bool ready() const override { return is_ready; }
  const vww::TensorDesc& input() const override { return in_; }
  const vww::TensorDesc& output() const override { return out_; }
  int8_t* input_data() override { return is_ready ? input_.data() : nullptr; }
  bool invoke() override {
    ++invokes;
    last_input = input_;
    if (fail_invoke) return false;
    long sum = 0;
    for (int8_t v : input_) sum += v;
    long mean = sum / static_cast<long>(input_.size());
    if (mean > 127) mean = 127;
    if (mean < -127) mean = -127;
    scores_[1] = static_cast<int8_t>(mean);
    scores_[0] = static_cast<int8_t>(-mean);
    return true;
  }
  const int8_t* output_data() const override { return scores_; }
  uint32_t arena_size() const override { return 90112; }
  uint32_t arena_used() const override { return 82292; }
  uint8_t kernels() const override { return vww::kKernelsReference; }
  const uint8_t* model_sha256() const override { return sha_; }
  size_t label_count() const override { return 2; }
  const char* label(size_t i) const override { return i == 0 ? "notperson" : "person"; }
  const char* status() const override { return is_ready ? "" : "fake model broken"; }

 private:
  vww::TensorDesc in_, out_;
  std::vector<int8_t> input_;
  int8_t scores_[2] = {0, 0};
  uint8_t sha_[32];
};

}  // namespace vwwtest

#endif  // VWW_TESTS_FAKES_H_
