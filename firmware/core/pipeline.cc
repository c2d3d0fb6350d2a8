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

namespace {

struct Window {
  int x0, y0, cw, ch;
};

Window crop_window(int height, int width) {
  const int m = height > width ? height : width;
  Window win;
  win.cw = kCropSize * width / m;
  win.ch = kCropSize * height / m;
  win.x0 = (kRawWidth - win.cw) / 2;
  win.y0 = (kRawHeight - win.ch) / 2;
  return win;
}

}  // namespace

bool pipeline_supports(int height, int width, int channels) {
  return height >= kMinSide && height <= kMaxSide && width >= kMinSide && width <= kMaxSide &&
         (channels == 1 || channels == 3);
}

void build_input_table(float scale, int32_t zero_point, int8_t* table) {
  if (!(scale > 0.0f)) {
    for (int p = 0; p < 256; ++p) table[p] = pixel_to_int8(static_cast<uint8_t>(p));
    return;
  }
  // Double, as the host computes it, so both round the multiplier identically.
  double m = 131072.0 / (255.0 * static_cast<double>(scale)) + 0.5;
  if (m > 2147483647.0) m = 2147483647.0;
  const int64_t mult = static_cast<int64_t>(m);  // m > 0: truncation is floor
  const bool symmetric = zero_point > -64;       // [-1, 1] convention, else [0, 1]
  for (int p = 0; p < 256; ++p) {
    const int64_t n = symmetric ? 2 * p - 255 : p;
    const int64_t num = n * mult + 65536;
    // Floor division by 2^17 for negative numerators too (>> on a negative int64 is not portable C++14).
    const int64_t fl = num >= 0 ? num / 131072 : -((-num + 131071) / 131072);
    int64_t q = fl + zero_point;
    if (q < -128) q = -128;
    if (q > 127) q = 127;
    table[p] = static_cast<int8_t>(q);
  }
}

void resample_row(PipelineMode mode, const uint8_t* raw, int height, int width, int y, uint8_t* out) {
  const Window win = crop_window(height, width);
  const int r0 = y * win.ch / height;
  const int r1 = (y + 1) * win.ch / height;
  for (int x = 0; x < width; ++x) {
    const int c0 = x * win.cw / width;
    const int c1 = (x + 1) * win.cw / width;
    const uint8_t* base = raw + static_cast<size_t>(win.y0) * kRawWidth + win.x0;
    if (mode != PipelineMode::kBoxAverage) {
      out[x] = base[static_cast<size_t>(r0) * kRawWidth + c0];
      continue;
    }
    unsigned sum = 0;
    for (int r = r0; r < r1; ++r) {
      const uint8_t* row = base + static_cast<size_t>(r) * kRawWidth;
      for (int c = c0; c < c1; ++c) sum += row[c];
    }
    const unsigned n = static_cast<unsigned>((r1 - r0) * (c1 - c0));
    out[x] = static_cast<uint8_t>((sum + n / 2) / n);
  }
}

void raw_to_input(PipelineMode mode, const uint8_t* raw, int height, int width, int channels, const int8_t* table,
                  int8_t* out) {
  // Grey pixels into the front of `out`, then mapped back to front: pixel i lands at i * channels or
  // later, so no pixel is overwritten before it is read.
  uint8_t* pixels = reinterpret_cast<uint8_t*>(out);
  for (int y = 0; y < height; ++y) resample_row(mode, raw, height, width, y, pixels + static_cast<size_t>(y) * width);
  const size_t count = static_cast<size_t>(height) * width;
  for (size_t i = count; i-- > 0;) {
    const int8_t v = table[pixels[i]];
    for (int c = channels - 1; c >= 0; --c) out[i * channels + c] = v;
  }
}

void fill_test_pattern(uint8_t* raw) {
  for (int y = 0; y < kRawHeight; ++y) {
    for (int x = 0; x < kRawWidth; ++x) *raw++ = static_cast<uint8_t>((x + 2 * y) & 0xFF);
  }
}

}  // namespace vww
