// Camera frame -> model input, docs/protocol.md section 5.
#ifndef VWW_CORE_PIPELINE_H_
#define VWW_CORE_PIPELINE_H_

#include <cstddef>
#include <cstdint>

namespace vww {

constexpr int kRawWidth = 324;  // HM01B0 QVGA window
constexpr int kRawHeight = 244;
constexpr size_t kRawFrameBytes = static_cast<size_t>(kRawWidth) * kRawHeight;
constexpr int kCropSize = 192;
constexpr int kCropX0 = (kRawWidth - kCropSize) / 2;   // 66
constexpr int kCropY0 = (kRawHeight - kCropSize) / 2;  // 26
constexpr int kPipelineSize = 96;
constexpr size_t kPipelinePixels = static_cast<size_t>(kPipelineSize) * kPipelineSize;

enum class PipelineMode : uint8_t { kDecimate = 0, kBoxAverage = 1 };

// raw: kRawFrameBytes, row-major. out: 96x96 uint8 pixels.
void crop_decimate(const uint8_t* raw, uint8_t* out);
void crop_box_average(const uint8_t* raw, uint8_t* out);
void crop_pipeline(PipelineMode mode, const uint8_t* raw, uint8_t* out);
// One output row (96 pixels) of the above, so a FRAME can be streamed without a 9 KB buffer.
void crop_pipeline_row(PipelineMode mode, const uint8_t* raw, int y, uint8_t* out);

// raw -> int8 model input (pixel - 128) of 96x96xchannels, the grey value repeated in each channel.
void raw_to_model_input(PipelineMode mode, const uint8_t* raw, int8_t* out, int channels);

// Any model input H x W x C (kMinSide..kMaxSide a side, C 1 or 3), section 5: a centred window of
// aspect W:H with its longer side kCropSize, resampled by integer boxes, mapped through the model's own
// scale and zero point. For 96 x 96 with scale 2/255, zero point -1 this is exactly the above.
constexpr int kMinSide = 32;
constexpr int kMaxSide = 160;
bool pipeline_supports(int height, int width, int channels);
// table[p] = the model's int8 for pixel p (floor(x + 0.5), reciprocal scale to 17 fractional bits).
void build_input_table(float scale, int32_t zero_point, int8_t* table);
// One output row (width uint8 grey pixels) of the height x width resample.
void resample_row(PipelineMode mode, const uint8_t* raw, int height, int width, int y, uint8_t* out);
// raw -> int8 height x width x channels, in place in `out` (no second frame buffer).
void raw_to_input(PipelineMode mode, const uint8_t* raw, int height, int width, int channels, const int8_t* table,
                  int8_t* out);

// The built-in frame of boards without a camera: raw[y][x] = (x + 2*y) & 0xFF.
void fill_test_pattern(uint8_t* raw);

inline int8_t pixel_to_int8(uint8_t p) { return static_cast<int8_t>(static_cast<int>(p) - 128); }
inline uint8_t int8_to_pixel(int8_t v) { return static_cast<uint8_t>(static_cast<int>(v) + 128); }

}  // namespace vww

#endif  // VWW_CORE_PIPELINE_H_
