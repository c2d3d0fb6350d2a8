// Fakes for driving CommandLoop on the host: a scripted byte link, a controllable board, a simple classifier.
#ifndef VWW_TESTS_FAKES_H_
#define VWW_TESTS_FAKES_H_

#include <cstring>
#include <deque>
#include <vector>

#include "classifier.h"
#include "crc.h"
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
  // A board deaf during captures: what is queued now never reaches the receiver (FakePlatform calls it).
  size_t drop_incoming() {
    const size_t n = incoming.size();
    incoming.clear();
    return n;
  }
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
  // A deaf board: bytes queued on `deaf_link` while a frame is captured are lost (docs/protocol.md).
  FakeTransport* deaf_link = nullptr;
  size_t deaf_dropped = 0;
  // Self-test probes: a healthy camera and board unless a test changes them; false = probe does not answer.
  bool fitted = false;
  bool id_ok = true;
  uint16_t sensor_id = 0x01B0;
  bool pattern_ok = true;
  uint32_t mismatches[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  uint32_t pattern_pixels = 2 * 324 * 244;
  uint32_t walking_frames_asked = 0;
  bool timing_ok = true;
  vww::FrameTiming timing{5012, 324, 244};
  bool exposure_ok = true;
  vww::Exposure exposure{true, 117, 6};
  bool clock_ok = true;
  uint32_t clock_measured = 47998720;
  bool stack_ok = true;
  uint32_t stack_used = 3112, stack_reserved = 16384;
  uint64_t inter_byte_us = vww::Platform::kDefaultInterByteTimeoutUs;
  uint64_t inter_byte_timeout_us() override { return inter_byte_us; }
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
    if (deaf_link) deaf_dropped += deaf_link->drop_incoming();
    if (!camera_ok) return false;
    std::memcpy(raw, camera_frame.data(), camera_frame.size());
    return true;
  }
  void led(vww::LedId which, bool on) override { leds[static_cast<int>(which)] = on; }
  const char* name() override { return "fake_board"; }
  uint32_t clock_hz() override { return 48000000; }

  bool camera_fitted() override { return fitted; }
  bool deaf_during_capture() override { return deaf_link != nullptr; }
  bool camera_model_id(uint16_t* id) override {
    if (id_ok) *id = sensor_id;
    return id_ok;
  }
  bool camera_walking_ones(uint32_t frames, uint32_t out[8], uint32_t* pixels) override {
    walking_frames_asked = frames;
    if (!pattern_ok) return false;
    std::memcpy(out, mismatches, sizeof mismatches);
    *pixels = pattern_pixels;
    return true;
  }
  bool camera_frame_timing(vww::FrameTiming* t) override {
    if (timing_ok) *t = timing;
    return timing_ok;
  }
  bool camera_exposure(vww::Exposure* e) override {
    if (exposure_ok) *e = exposure;
    return exposure_ok;
  }
  bool measured_clock_hz(uint32_t* hz) override {
    if (clock_ok) *hz = clock_measured;
    return clock_ok;
  }
  bool stack_usage(uint32_t* used, uint32_t* reserved) override {
    if (stack_ok) {
      *used = stack_used;
      *reserved = stack_reserved;
    }
    return stack_ok;
  }
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
    make_vector();
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

  // The built-in self-test vector: the spec's input and what this classifier computes for it (as codegen
  // would embed), unless a test breaks it.
  bool has_vector = true;
  std::vector<int8_t> vector_input, vector_output;
  void make_vector() {
    vector_input.resize(in_.element_count());
    vww::fill_selftest_input(vector_input.data(), vector_input.size());
    vector_crc = vww::crc32(reinterpret_cast<const uint8_t*>(vector_input.data()), vector_input.size());
    const std::vector<int8_t> saved = input_, saved_last = last_input;
    input_ = vector_input;
    const int before = invokes;
    const bool fail = fail_invoke;
    fail_invoke = false;
    invoke();
    fail_invoke = fail;
    invokes = before;
    input_ = saved;
    last_input = saved_last;
    vector_output.assign(scores_, scores_ + 2);
  }
  uint32_t vector_crc = 0;
  bool selftest_vector(uint32_t* input_crc32, const int8_t** expected) const override {
    if (!has_vector || vector_input.empty()) return false;
    *input_crc32 = vector_crc;
    *expected = vector_output.data();
    return true;
  }

 private:
  vww::TensorDesc in_, out_;
  std::vector<int8_t> input_;
  int8_t scores_[2] = {0, 0};
  uint8_t sha_[32];
};

}  // namespace vwwtest

#endif  // VWW_TESTS_FAKES_H_
