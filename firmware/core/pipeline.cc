#include "pipeline.h"

namespace vww {

namespace {

void decimate_row(const uint8_t* raw, int y, uint8_t* out) {
  const uint8_t* row = raw + static_cast<size_t>(kCropY0 + 2 * y) * kRawWidth + kCropX0;
  for (int x = 0; x < kPipelineSize; ++x) out[x] = row[2 * x];
}

void box_average_row(const uint8_t* raw, int y, uint8_t* out) {
  const uint8_t* r0 = raw + static_cast<size_t>(kCropY0 + 2 * y) * kRawWidth + kCropX0;
  const uint8_t* r1 = r0 + kRawWidth;
  for (int x = 0; x < kPipelineSize; ++x) {
    const unsigned sum = r0[2 * x] + r0[2 * x + 1] + r1[2 * x] + r1[2 * x + 1] + 2u;  // +2: round half up
    out[x] = static_cast<uint8_t>(sum >> 2);
  }
}

}  // namespace

void crop_decimate(const uint8_t* raw, uint8_t* out) {
  for (int y = 0; y < kPipelineSize; ++y) decimate_row(raw, y, out + y * kPipelineSize);
}

void crop_box_average(const uint8_t* raw, uint8_t* out) {
  for (int y = 0; y < kPipelineSize; ++y) box_average_row(raw, y, out + y * kPipelineSize);
}

void crop_pipeline_row(PipelineMode mode, const uint8_t* raw, int y, uint8_t* out) {
  if (mode == PipelineMode::kBoxAverage) {
    box_average_row(raw, y, out);
  } else {
    decimate_row(raw, y, out);
  }
}

void crop_pipeline(PipelineMode mode, const uint8_t* raw, uint8_t* out) {
  for (int y = 0; y < kPipelineSize; ++y) crop_pipeline_row(mode, raw, y, out + y * kPipelineSize);
}

void raw_to_model_input(PipelineMode mode, const uint8_t* raw, int8_t* out, int channels) {
  // Work in place: write the uint8 pixels into the front of `out`, then widen back to front so a
  // 3-channel expansion never overwrites a pixel it has yet to read. No second 9 KB buffer needed.
  uint8_t* pixels = reinterpret_cast<uint8_t*>(out);
  crop_pipeline(mode, raw, pixels);
  if (channels <= 1) {
    for (size_t i = 0; i < kPipelinePixels; ++i) out[i] = pixel_to_int8(pixels[i]);
    return;
  }
  for (size_t i = kPipelinePixels; i-- > 0;) {
    const int8_t v = pixel_to_int8(pixels[i]);
    for (int c = channels - 1; c >= 0; --c) out[i * channels + c] = v;
  }
}

void fill_test_pattern(uint8_t* raw) {
  for (int y = 0; y < kRawHeight; ++y) {
    for (int x = 0; x < kRawWidth; ++x) *raw++ = static_cast<uint8_t>((x + 2 * y) & 0xFF);
  }
}

}  // namespace vww
