// Image pipeline against tests/vectors/pipeline (made by vwwdeploy/link/protocol/pipeline.py).
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "harness.h"
#include "pipeline.h"
#include "test_util.h"

using namespace vwwtest;

TEST(pipeline_matches_python_vectors) {
  namespace fs = std::filesystem;
  const fs::path dir = vectors_dir() + "pipeline";
  REQUIRE(fs::is_directory(dir));
  int frames = 0;
  for (const auto& entry : fs::directory_iterator(dir)) {
    if (entry.path().extension() != ".raw") continue;
    ++frames;
    const std::string stem = (dir / entry.path().stem()).string();
    bool ok1, ok2, ok3;
    const std::string raw = read_file(entry.path().string(), &ok1);
    const std::string dec = read_file(stem + ".decimate", &ok2);
    const std::string box = read_file(stem + ".boxavg", &ok3);
    REQUIRE(ok1 && ok2 && ok3);
    REQUIRE(raw.size() == vww::kRawFrameBytes);
    REQUIRE(dec.size() == vww::kPipelinePixels && box.size() == vww::kPipelinePixels);
    const auto* r = reinterpret_cast<const uint8_t*>(raw.data());
    std::vector<int8_t> out(vww::kPipelinePixels);
    vww::raw_to_model_input(vww::PipelineMode::kDecimate, r, out.data(), 1);
    CHECK_MSG(std::memcmp(out.data(), dec.data(), out.size()) == 0, stem + " decimate");
    vww::raw_to_model_input(vww::PipelineMode::kBoxAverage, r, out.data(), 1);
    CHECK_MSG(std::memcmp(out.data(), box.data(), out.size()) == 0, stem + " boxavg");
    // Three channels: the same grey value in each.
    std::vector<int8_t> rgb(vww::kPipelinePixels * 3);
    vww::raw_to_model_input(vww::PipelineMode::kBoxAverage, r, rgb.data(), 3);
    bool same = true;
    for (size_t i = 0; i < vww::kPipelinePixels; ++i) {
      for (int c = 0; c < 3; ++c) same &= rgb[i * 3 + c] == static_cast<int8_t>(box[i]);
    }
    CHECK_MSG(same, stem + " 3-channel");
  }
  CHECK(frames >= 5);
}

TEST(test_pattern_matches_vector) {
  bool ok;
  const std::string raw = read_file(vectors_dir() + "pipeline/test_pattern.raw", &ok);
  REQUIRE(ok && raw.size() == vww::kRawFrameBytes);
  std::vector<uint8_t> mine(vww::kRawFrameBytes);
  vww::fill_test_pattern(mine.data());
  CHECK(std::memcmp(mine.data(), raw.data(), raw.size()) == 0);
}

TEST(pipeline_geometry) {
  CHECK_EQ(vww::kCropX0, 66);
  CHECK_EQ(vww::kCropY0, 26);
  // Each output pixel reads from the crop only: a frame that is 255 outside the crop and 0 inside gives zeros.
  std::vector<uint8_t> raw(vww::kRawFrameBytes, 255);
  for (int y = 26; y < 26 + 192; ++y) std::memset(&raw[y * 324 + 66], 0, 192);
  std::vector<uint8_t> out(vww::kPipelinePixels);
  vww::crop_box_average(raw.data(), out.data());
  bool zero = true;
  for (uint8_t v : out) zero &= v == 0;
  CHECK(zero);
  vww::crop_decimate(raw.data(), out.data());
  zero = true;
  for (uint8_t v : out) zero &= v == 0;
  CHECK(zero);
}

namespace {

std::vector<std::string> split(const std::string& line) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i < line.size()) {
    const size_t j = line.find(' ', i);
    out.push_back(line.substr(i, j == std::string::npos ? std::string::npos : j - i));
    if (j == std::string::npos) break;
    i = j + 1;
  }
  return out;
}

}  // namespace

TEST(pipeline_matches_python_shape_vectors) {
  bool ok;
  const std::string dir = vectors_dir() + "pipeline/";
  const std::string text = read_file(dir + "shapes.txt", &ok);
  REQUIRE(ok);
  int cases = 0;
  size_t start = 0;
  while (start < text.size()) {
    const size_t end = text.find('\n', start);
    const std::vector<std::string> f = split(text.substr(start, end - start));
    start = end == std::string::npos ? text.size() : end + 1;
    REQUIRE(f.size() == 8);
    const int h = std::stoi(f[2]), w = std::stoi(f[3]), c = std::stoi(f[4]);
    const auto mode = static_cast<vww::PipelineMode>(std::stoi(f[5]));
    const uint32_t bits = static_cast<uint32_t>(std::stoul(f[6], nullptr, 16));
    float scale;
    std::memcpy(&scale, &bits, sizeof scale);
    const int32_t zp = std::stoi(f[7]);
    bool ok1, ok2;
    const std::string raw = read_file(dir + f[1] + ".raw", &ok1);
    const std::string want = read_file(dir + "shapes/" + f[0] + ".int8", &ok2);
    REQUIRE(ok1 && ok2 && raw.size() == vww::kRawFrameBytes);
    REQUIRE(want.size() == static_cast<size_t>(h) * w * c);
    CHECK_MSG(vww::pipeline_supports(h, w, c), f[0]);
    int8_t table[256];
    vww::build_input_table(scale, zp, table);
    std::vector<int8_t> out(want.size(), 0x55);
    vww::raw_to_input(mode, reinterpret_cast<const uint8_t*>(raw.data()), h, w, c, table, out.data());
    CHECK_MSG(std::memcmp(out.data(), want.data(), out.size()) == 0, f[0]);
    ++cases;
  }
  CHECK(cases >= 10);
}

TEST(pipeline_input_table_is_pixel_minus_128) {
  int8_t table[256];
  const float scales[2] = {2.0f / 255.0f, 1.0f / 255.0f};
  const int32_t zps[2] = {-1, -128};
  for (int k = 0; k < 2; ++k) {
    vww::build_input_table(scales[k], zps[k], table);
    bool same = true;
    for (int p = 0; p < 256; ++p) same &= table[p] == p - 128;
    CHECK(same);
  }
  CHECK(!vww::pipeline_supports(31, 96, 1));
  CHECK(!vww::pipeline_supports(96, 161, 1));
  CHECK(!vww::pipeline_supports(96, 96, 2));
}
