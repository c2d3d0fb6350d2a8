// The MLPerf Tiny command parser (firmware/core/mlperf_dut.{h,cc}) with a fake board and classifier.
#include <string>
#include <vector>

#include "fakes.h"
#include "harness.h"
#include "mlperf_dut.h"

namespace {

using vww::mlperf::Dut;

struct Rig {
  explicit Rig(int channels = 3)
      : classifier(channels), db(vww::mlperf::kDbMax), dut(link, classifier, board, db.data(), db.size()) {}
  vwwtest::FakeTransport link;
  vwwtest::FakePlatform board;
  vwwtest::FakeClassifier classifier;
  std::vector<uint8_t> db;
  Dut dut;

  // Sends `text` (commands with their '%') and returns the reply lines, "\r\n" removed.
  std::vector<std::string> send(const std::string& text) {
    link.sent.clear();
    dut.feed(reinterpret_cast<const uint8_t*>(text.data()), text.size());
    std::vector<std::string> lines;
    std::string cur;
    for (uint8_t b : link.sent) {
      if (b == '\n') {
        lines.push_back(cur);
        cur.clear();
      } else if (b != '\r') {
        cur.push_back(static_cast<char>(b));
      }
    }
    CHECK(cur.empty());  // every line is terminated
    return lines;
  }
  void load(const std::vector<uint8_t>& data) {
    send("db load " + std::to_string(data.size()) + "%");
    static const char kHex[] = "0123456789abcdef";
    std::string cmds;
    for (size_t i = 0; i < data.size(); i += 31) {
      cmds += "db ";
      for (size_t j = i; j < data.size() && j < i + 31; ++j) {
        cmds += kHex[data[j] >> 4];
        cmds += kHex[data[j] & 15];
      }
      cmds += "%";
    }
    send(cmds);
  }
};

std::vector<uint8_t> image(uint8_t r, uint8_t g, uint8_t b) {
  std::vector<uint8_t> v(96 * 96 * 3);
  for (size_t i = 0; i < v.size(); i += 3) {
    v[i] = r;
    v[i + 1] = g;
    v[i + 2] = b;
  }
  return v;
}

}  // namespace

TEST(mlperf_boot_and_identity) {
  Rig rig;
  rig.link.sent.clear();
  rig.dut.boot();
  CHECK(std::string(rig.link.sent.begin(), rig.link.sent.end()) == "m-init-done\r\nm-ready\r\n");
  auto lines = rig.send("name%");
  REQUIRE(lines.size() == 2);
  CHECK(lines[0] == "m-name-dut-[vwwdeploy-fake_board]");
  CHECK(lines[1] == "m-ready");
  lines = rig.send("profile%");
  REQUIRE(lines.size() == 3);
  CHECK(lines[1] == "m-model-[vww01]");
  rig.board.now_us = 123456789012ull;
  lines = rig.send("timestamp%");
  CHECK(lines[0] == "m-lap-us-123456789012");
}

TEST(mlperf_unknown_empty_and_split_commands) {
  Rig rig;
  auto lines = rig.send("frobnicate 3%");
  REQUIRE(lines.size() == 2);
  CHECK(lines[0] == "e-[Unknown command: frobnicate]");
  lines = rig.send("%");
  REQUIRE(lines.size() == 1);
  CHECK(lines[0] == "m-ready");
  // bytes trickling in: nothing until the '%'
  CHECK(rig.send("na").empty());
  lines = rig.send("me%");
  CHECK(lines.size() == 2 && lines[0] == "m-name-dut-[vwwdeploy-fake_board]");
  // longer than the command buffer: rejected whole, and the next command is clean
  lines = rig.send("db " + std::string(600, 'a') + "%name%");
  REQUIRE(lines.size() == 4);
  CHECK(lines[0] == "e-[Command longer than 512 characters]");
  CHECK(lines[2] == "m-name-dut-[vwwdeploy-fake_board]");
}

TEST(mlperf_db_load_print_and_errors) {
  Rig rig;
  auto lines = rig.send("db load 10%");
  CHECK(lines[0] == "m-[Expecting 10 bytes]");
  CHECK(rig.send("db 00010203%").size() == 1);  // m-ready only
  lines = rig.send("db 0405060708090a0b0c%");   // 9 bytes for 6 places: the rest is disregarded
  REQUIRE(lines.size() == 2);
  CHECK(lines[0] == "m-load-done");
  lines = rig.send("db print%");
  REQUIRE(lines.size() == 3);
  CHECK(lines[0] == "m-buffer-00-01-02-03-04-05-06-07");
  CHECK(lines[1] == "m-buffer-08-09");
  CHECK(rig.send("db 0a%")[0] == "e-[Buffer already full: send db load N first]");
  CHECK(rig.send("db load 0%")[0].rfind("e-[", 0) == 0);
  CHECK(rig.send("db load 99999%")[0].rfind("e-[db load: more bytes", 0) == 0);
  rig.send("db load 4%");
  CHECK(rig.send("db 123%")[0] == "e-[Insufficent number of hex digits]");
  CHECK(rig.send("db 12zz%")[0] == "e-[Invalid hex digit]");
  CHECK(rig.send("db%")[0] == "e-[Command 'db' requires a subcommand]");
}

TEST(mlperf_infer_sequence_and_results) {
  Rig rig;
  rig.board.tick_us = 7;
  rig.load(image(200, 100, 0));
  auto lines = rig.send("infer 20 5%");
  REQUIRE(lines.size() == 8);
  CHECK(lines[0] == "m-warmup-start-5");
  CHECK(lines[1] == "m-warmup-done");
  CHECK(lines[2] == "m-infer-start-20");
  CHECK(lines[3].rfind("m-lap-us-", 0) == 0 && lines[4].rfind("m-lap-us-", 0) == 0);
  CHECK(std::stoull(lines[4].substr(9)) > std::stoull(lines[3].substr(9)));
  CHECK(lines[5] == "m-infer-done");
  CHECK(lines[7] == "m-ready");
  CHECK_EQ(rig.classifier.invokes, 26);  // 5 + 20, and one untimed for the results
  CHECK_EQ(rig.dut.inferences(), 25u);
  // Fake input scale 2/255, zero point -1: v -> floor(v / 2 + 0.5) - 1; 200 -> 99, 100 -> 49, 0 -> -1.
  REQUIRE(rig.classifier.last_input.size() == 96 * 96 * 3);
  CHECK_EQ(rig.classifier.last_input[0], 99);
  CHECK_EQ(rig.classifier.last_input[1], 49);
  CHECK_EQ(rig.classifier.last_input[2], -1);
  // The fake scores: [1] = mean(input) = 49, [0] = -49; dequantized (q + 128) / 256 -> 0.309 and 0.691.
  CHECK(lines[6] == "m-results-[0.309,0.691,]");
  CHECK(rig.send("results%")[0] == "m-results-[0.309,0.691,]");
}

// As TFLM may do: the arena planner reuses the input tensor's bytes, so an inference overwrites its input.
class OverwritingClassifier : public vwwtest::FakeClassifier {
 public:
  OverwritingClassifier() : FakeClassifier(3) {}
  bool invoke() override {
    const bool ok = FakeClassifier::invoke();
    int8_t* x = input_data();
    for (size_t i = 0; i < input().element_count(); ++i) x[i] = 127;
    return ok;
  }
};

TEST(mlperf_results_come_from_the_loaded_input) {
  vwwtest::FakeTransport link;
  vwwtest::FakePlatform board;
  OverwritingClassifier classifier;
  std::vector<uint8_t> db(vww::mlperf::kDbMax);
  Dut dut(link, classifier, board, db.data(), db.size());
  const std::string cmds = [&] {
    std::string all = "db load 27648%";
    const std::vector<uint8_t> data = image(200, 100, 0);
    static const char kHex[] = "0123456789abcdef";
    for (size_t i = 0; i < data.size(); i += 31) {
      all += "db ";
      for (size_t j = i; j < data.size() && j < i + 31; ++j) {
        all += kHex[data[j] >> 4];
        all += kHex[data[j] & 15];
      }
      all += "%";
    }
    return all + "infer 3 1%";
  }();
  dut.feed(reinterpret_cast<const uint8_t*>(cmds.data()), cmds.size());
  const std::string out(link.sent.begin(), link.sent.end());
  // 4 timed or warm-up inferences on an overwritten input, then one on the loaded input for the results.
  CHECK_EQ(classifier.invokes, 5);
  CHECK_MSG(out.find("m-results-[0.309,0.691,]") != std::string::npos, out.substr(out.size() - 60));
}

TEST(mlperf_infer_one_channel_takes_the_mean) {
  Rig rig(1);
  rig.load(image(30, 60, 91));  // mean 60.33 -> 60 -> floor(30 + 0.5) - 1 = 29
  auto lines = rig.send("infer 1 0%");
  REQUIRE(rig.classifier.last_input.size() == 96 * 96);
  CHECK_EQ(rig.classifier.last_input[0], 29);
  CHECK_EQ(rig.classifier.last_input[96 * 96 - 1], 29);
  CHECK(lines[0] == "m-warmup-start-0");
}

TEST(mlperf_infer_errors) {
  Rig rig;
  CHECK(rig.send("results%")[0] == "e-[No inference has run]");
  CHECK(rig.send("infer 1 0%")[0] == "e-[Input db has 0 bytes, expected 27648]");
  rig.load(image(1, 2, 3));
  CHECK(rig.send("infer 0 0%")[0] == "e-[Inference iterations must be >0]");
  CHECK(rig.send("infer 1 -1%")[0] == "e-[Inference warmup must be >=0]");
  CHECK(rig.send("infer x%")[0] == "e-[infer takes numbers: infer N W]");
  rig.classifier.fail_invoke = true;
  auto lines = rig.send("infer 2 0%");
  CHECK(lines[lines.size() - 2] == "e-[Inference failed]");
  rig.classifier.fail_invoke = false;
  rig.classifier.is_ready = false;
  CHECK(rig.send("infer 1 0%")[0] == "e-[Model not ready: fake model broken]");
  CHECK_EQ(rig.classifier.invokes, 1);  // the failed run stopped at its first inference
}

TEST(mlperf_quantize_table_and_number_format) {
  int8_t table[256];
  vww::mlperf::build_quantize_table(1.0f / 255.0f, -128, table);  // vww_96_int8: v - 128
  for (int v = 0; v < 256; ++v) CHECK_EQ(table[v], v - 128);
  // The upstream detector (float32 2/255, zero point -1): every odd pixel is a tie at v / 2, which the float32
  // scale puts 2e-8 below; the snapped steps round it up, as the host does.
  vww::mlperf::build_quantize_table(2.0f / 255.0f, -1, table);
  for (int v = 0; v < 256; ++v) CHECK_EQ(table[v], (v + 1) / 2 - 1);
  char buf[24];
  vww::mlperf::format_milli(0.0625, buf);  // a tie: to even, as printf and Python
  CHECK(std::string(buf) == "0.062");
  vww::mlperf::format_milli(0.1875, buf);
  CHECK(std::string(buf) == "0.188");
  vww::mlperf::format_milli(-1.5, buf);
  CHECK(std::string(buf) == "-1.500");
  vww::mlperf::format_milli(-0.0001, buf);
  CHECK(std::string(buf) == "0.000");
  vww::mlperf::format_milli(0.99609375, buf);
  CHECK(std::string(buf) == "0.996");
}
