// Image pipeline against tests/vectors/pipeline (made by vwwdeploy/link/protocol/pipeline.py).
#include <cstring>
#include <filesystem>
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
