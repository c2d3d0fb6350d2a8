// The MLPerf Tiny device-under-test protocol (docs/mlperf.md): ASCII commands ending in '%', replies ending
// in "m-ready", errors "e-[...]". Selected instead of the binary protocol by building with -DVWW_APP_MLPERF
// (`vwwdeploy firmware build --app mlperf`); mlperf_app_main.cc binds it to the board.
#ifndef VWW_CORE_MLPERF_DUT_H_
#define VWW_CORE_MLPERF_DUT_H_

#include <cstddef>
#include <cstdint>

#include "classifier.h"
#include "platform.h"

namespace vww::mlperf {

// Longest command kept, in characters (the reference DUT keeps 80; longer `db` lines carry more bytes each).
// A longer command is rejected as a whole, never truncated: a cut hex string would load the wrong bytes.
constexpr size_t kCommandMax = 512;
// Input bytes for a 96x96 image model: the runner always sends RGB.
constexpr size_t kDbMax = 96 * 96 * 3;

class Dut {
 public:
  // db: kDbMax bytes of storage for `db load` / `db HEX`.
  Dut(ByteSink& out, Classifier& classifier, Platform& platform, uint8_t* db, size_t db_capacity);

  // Boot banner: m-init-done, m-ready.
  void boot();
  // Received bytes; every '%' ends a command, which is executed before feed() returns.
  void feed(const uint8_t* data, size_t n);

  uint32_t inferences() const { return inferences_; }
  // Input bytes the runner must send: height x width x 3 of the model's input.
  size_t input_bytes() const { return input_bytes_; }

 private:
  void execute(char* command);
  void db(char* args);
  void infer(char* args);
  bool load_tensor();
  void results();
  void timestamp();
  void line(const char* a, const char* b = "", const char* c = "");
  void print(const char* text);
  void print_u64(uint64_t v);

  ByteSink& out_;
  Classifier& classifier_;
  Platform& platform_;
  uint8_t* db_;
  size_t db_capacity_;
  size_t db_size_ = 0;
  size_t db_pos_ = 0;
  size_t input_bytes_ = 0;
  bool have_results_ = false;
  uint32_t inferences_ = 0;
  char command_[kCommandMax + 1] = {};
  size_t command_len_ = 0;
  bool overflow_ = false;
  int8_t quantize_[256] = {};  // u8 pixel -> the model's int8 input (scale and zero point of the model)
};

// The table: q = floor(v / 255 / scale + 0.5) + zero_point, clamped to int8 (v / 255 is the pixel's value).
void build_quantize_table(float scale, int32_t zero_point, int8_t table[256]);
// "-0.123": value rounded to 3 decimals (ties to even), into out (at least 24 bytes); returns the length.
size_t format_milli(double value, char* out);

}  // namespace vww::mlperf

#endif  // VWW_CORE_MLPERF_DUT_H_
