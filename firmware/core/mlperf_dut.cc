#include "mlperf_dut.h"

#include <cmath>
#include <cstring>

namespace vww::mlperf {
namespace {

constexpr char kReady[] = "m-ready";

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

// The next space-separated token of *cursor (nullptr when none); *cursor moves past it.
char* next_token(char** cursor) {
  char* p = *cursor;
  while (*p && is_space(*p)) ++p;
  if (!*p) return nullptr;
  char* start = p;
  while (*p && !is_space(*p)) ++p;
  if (*p) *p++ = '\0';
  *cursor = p;
  return start;
}

// A decimal number, optionally signed; false on anything else or on overflow past +-2^31.
bool parse_int(const char* s, long* value) {
  bool negative = false;
  if (*s == '-' || *s == '+') negative = (*s++ == '-');
  if (!*s) return false;
  long v = 0;
  for (; *s; ++s) {
    if (*s < '0' || *s > '9') return false;
    v = v * 10 + (*s - '0');
    if (v > 2147483647L) return false;
  }
  *value = negative ? -v : v;
  return true;
}

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

size_t format_u64(uint64_t v, char* out) {
  char digits[21];
  size_t n = 0;
  do {
    digits[n++] = static_cast<char>('0' + v % 10);
    v /= 10;
  } while (v);
  for (size_t i = 0; i < n; ++i) out[i] = digits[n - 1 - i];
  out[n] = '\0';
  return n;
}

}  // namespace

void build_quantize_table(float scale, int32_t zero_point, int8_t table[256]) {
  for (int v = 0; v < 256; ++v) {
    // The project's one rounding rule, as the host's (vwwdeploy.data.input_convention.quantize): steps snapped
    // to 1e-4 (ties to even, as numpy) so a float32 scale cannot push a tie such as p / 2 at 2/255 below it,
    // then half up.
    const double steps = scale > 0.0f ? std::nearbyint(v / 255.0 / static_cast<double>(scale) * 1e4) / 1e4 : 0.0;
    const double q = scale > 0.0f ? std::floor(steps + 0.5) + zero_point : 0.0;
    table[v] = static_cast<int8_t>(q < -128.0 ? -128 : (q > 127.0 ? 127 : q));
  }
}

size_t format_milli(double value, char* out) {
  // Ties to even on the binary value, as printf("%.3f") and Python's format do: (q - zp) / 256 often lands
  // exactly on a half thousandth.
  const double scaled = std::fabs(value) * 1000.0;
  double whole = std::floor(scaled);
  const double rest = scaled - whole;
  if (rest > 0.5 || (rest == 0.5 && std::fmod(whole, 2.0) != 0.0)) whole += 1.0;
  const uint64_t mag = static_cast<uint64_t>(whole);
  size_t n = 0;
  if (value < 0 && mag != 0) out[n++] = '-';
  n += format_u64(mag / 1000, out + n);
  out[n++] = '.';
  const unsigned frac = static_cast<unsigned>(mag % 1000);
  out[n++] = static_cast<char>('0' + frac / 100);
  out[n++] = static_cast<char>('0' + frac / 10 % 10);
  out[n++] = static_cast<char>('0' + frac % 10);
  out[n] = '\0';
  return n;
}

Dut::Dut(ByteSink& out, Classifier& classifier, Platform& platform, uint8_t* db, size_t db_capacity)
    : out_(out), classifier_(classifier), platform_(platform), db_(db), db_capacity_(db_capacity) {
  const TensorDesc& in = classifier_.input();
  if (in.rank == 4) input_bytes_ = static_cast<size_t>(in.dims[1]) * in.dims[2] * 3;
  build_quantize_table(in.scale, in.zero_point, quantize_);
}

void Dut::print(const char* text) { out_.write(reinterpret_cast<const uint8_t*>(text), std::strlen(text)); }

void Dut::line(const char* a, const char* b, const char* c) {
  print(a);
  print(b);
  print(c);
  print("\r\n");
}

void Dut::print_u64(uint64_t v) {
  char buf[24];
  format_u64(v, buf);
  print(buf);
}

void Dut::boot() {
  line("m-init-done");
  line(kReady);
}

void Dut::feed(const uint8_t* data, size_t n) {
  for (size_t i = 0; i < n; ++i) {
    const char c = static_cast<char>(data[i]);
    if (c != '%') {
      if (command_len_ < kCommandMax) {
        command_[command_len_++] = c;
      } else {
        overflow_ = true;
      }
      continue;
    }
    command_[command_len_] = '\0';
    if (overflow_) {
      line("e-[Command longer than 512 characters]");
    } else {
      execute(command_);
    }
    line(kReady);
    command_len_ = 0;
    overflow_ = false;
  }
}

void Dut::execute(char* command) {
  char* cursor = command;
  char* head = next_token(&cursor);
  if (head == nullptr) return;  // an empty command (a runner's lone '%' to flush): just m-ready
  if (std::strcmp(head, "name") == 0) {
    line("m-name-dut-[vwwdeploy-", platform_.name(), "]");
  } else if (std::strcmp(head, "timestamp") == 0) {
    timestamp();
  } else if (std::strcmp(head, "profile") == 0) {
    line("m-profile-[vwwdeploy MLPerf Tiny mode]");
    line("m-model-[vww01]");
  } else if (std::strcmp(head, "help") == 0) {
    line(
        "vwwdeploy MLPerf Tiny mode: name | timestamp | profile | db load N | db HEX | db print | infer N W | results");
  } else if (std::strcmp(head, "db") == 0) {
    db(cursor);
  } else if (std::strcmp(head, "infer") == 0) {
    infer(cursor);
  } else if (std::strcmp(head, "results") == 0) {
    if (have_results_) {
      results();
    } else {
      line("e-[No inference has run]");
    }
  } else {
    line("e-[Unknown command: ", head, "]");
  }
}

void Dut::timestamp() {
  print("m-lap-us-");
  print_u64(platform_.micros());
  print("\r\n");
}

void Dut::db(char* args) {
  char* sub = next_token(&args);
  if (sub == nullptr) {
    line("e-[Command 'db' requires a subcommand]");
    return;
  }
  if (std::strcmp(sub, "load") == 0) {
    const char* count = next_token(&args);
    long n = 0;
    if (count == nullptr || !parse_int(count, &n) || n <= 0) {
      line("e-[Command 'db load' requires a number of bytes > 0]");
      return;
    }
    if (static_cast<size_t>(n) > db_capacity_) {
      char buf[24];
      format_u64(db_capacity_, buf);
      line("e-[db load: more bytes than the buffer holds (", buf, ")]");
      return;
    }
    db_size_ = static_cast<size_t>(n);
    db_pos_ = 0;
    char buf[24];
    format_u64(db_size_, buf);
    line("m-[Expecting ", buf, " bytes]");
    return;
  }
  if (std::strcmp(sub, "print") == 0) {
    static const char kHex[] = "0123456789abcdef";
    for (size_t i = 0; i < db_size_; i += 8) {
      char buf[8 * 3 + 16] = "m-buffer-";
      size_t n = std::strlen(buf);
      for (size_t j = i; j < db_size_ && j < i + 8; ++j) {
        if (j > i) buf[n++] = '-';
        buf[n++] = kHex[db_[j] >> 4];
        buf[n++] = kHex[db_[j] & 15];
      }
      buf[n] = '\0';
      line(buf);
    }
    return;
  }
  const size_t digits = std::strlen(sub);
  if (digits % 2 != 0) {
    line("e-[Insufficent number of hex digits]");
    return;
  }
  for (size_t i = 0; i < digits; ++i) {
    if (hex_digit(sub[i]) < 0) {
      line("e-[Invalid hex digit]");  // nothing of this command is loaded
      return;
    }
  }
  if (db_pos_ >= db_size_) {
    line("e-[Buffer already full: send db load N first]");
    return;
  }
  for (size_t i = 0; i < digits && db_pos_ < db_size_; i += 2) {
    db_[db_pos_++] = static_cast<uint8_t>(hex_digit(sub[i]) * 16 + hex_digit(sub[i + 1]));
  }
  if (db_pos_ == db_size_) line("m-load-done");  // digits past the announced size are disregarded
}

bool Dut::load_tensor() {
  if (!classifier_.ready()) {
    line("e-[Model not ready: ", classifier_.status(), "]");
    return false;
  }
  if (input_bytes_ == 0 || db_size_ != input_bytes_ || db_pos_ != db_size_) {
    char have[24], want[24];
    format_u64(db_pos_, have);
    format_u64(input_bytes_, want);
    print("e-[Input db has ");
    print(have);
    line(" bytes, expected ", want, "]");
    return false;
  }
  const TensorDesc& in = classifier_.input();
  int8_t* x = classifier_.input_data();
  const size_t pixels = static_cast<size_t>(in.dims[1]) * in.dims[2];
  if (in.dims[3] == 3) {
    for (size_t i = 0; i < 3 * pixels; ++i) x[i] = quantize_[db_[i]];
  } else {
    // One channel: the mean of R, G and B (rounded down), then quantized.
    for (size_t i = 0; i < pixels; ++i) {
      const unsigned sum = db_[3 * i] + db_[3 * i + 1] + db_[3 * i + 2];
      x[i] = quantize_[sum / 3];
    }
  }
  return true;
}

void Dut::infer(char* args) {
  long n = 1, w = 10;  // the reference DUT's defaults
  const char* a = next_token(&args);
  const char* b = next_token(&args);
  if ((a && !parse_int(a, &n)) || (b && !parse_int(b, &w))) {
    line("e-[infer takes numbers: infer N W]");
    return;
  }
  if (n <= 0) {
    line("e-[Inference iterations must be >0]");
    return;
  }
  if (w < 0) {
    line("e-[Inference warmup must be >=0]");
    return;
  }
  if (input_bytes_ == 0 || classifier_.input().dims[3] == 0 || !load_tensor()) return;
  char buf[24];
  format_u64(static_cast<uint64_t>(w), buf);
  line("m-warmup-start-", buf);
  for (long i = 0; i < w; ++i) {
    if (!classifier_.invoke()) {
      line("e-[Inference failed]");
      return;
    }
  }
  line("m-warmup-done");
  format_u64(static_cast<uint64_t>(n), buf);
  line("m-infer-start-", buf);
  timestamp();
  bool ok = true;
  for (long i = 0; i < n && ok; ++i) ok = classifier_.invoke();
  timestamp();
  if (!ok) {
    have_results_ = false;
    line("e-[Inference failed]");
    return;
  }
  inferences_ += static_cast<uint32_t>(n + w);
  line("m-infer-done");
  // TFLM's memory planner may reuse the input tensor's bytes for activations, so every inference after the
  // first ran on an overwritten input (the reference firmware loads it once too; the timing is the same).
  // The results are those of one more, untimed inference on the input as loaded.
  if (n + w > 1 && !(load_tensor() && classifier_.invoke())) {
    have_results_ = false;
    line("e-[Inference failed]");
    return;
  }
  have_results_ = true;
  results();
}

void Dut::results() {
  const TensorDesc& o = classifier_.output();
  const int8_t* y = classifier_.output_data();
  print("m-results-[");
  char buf[24];
  for (size_t i = 0; i < o.element_count(); ++i) {
    // In double, as the host: the same products, the same printed digits.
    format_milli(static_cast<double>(y[i] - o.zero_point) * static_cast<double>(o.scale), buf);
    print(buf);
    print(",");
  }
  print("]\r\n");
}

}  // namespace vww::mlperf
