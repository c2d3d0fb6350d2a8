// Host bit-exactness check of the generated kernels against TFLM's reference kernels
// (reference_integer_ops::ConvPerChannel / DepthwiseConvPerChannel, with multipliers and shifts from
// TFLM's own QuantizeMultiplier and padding from ComputePaddingHeightWidth). Built and run by
// vwwdeploy/testing/kernel_host_check.py with g++; host_check_layers.h is generated per model.
// Output, one line per specialised layer:
//   layer <op index> trials <n> mismatches <bytes differing> quant_mismatches <channels>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "host_check_layers.h"
#include "tensorflow/lite/kernels/internal/quantization_util.h"
#include "tensorflow/lite/kernels/internal/reference/integer_ops/conv.h"
#include "tensorflow/lite/kernels/internal/reference/integer_ops/depthwise_conv.h"
#include "tensorflow/lite/kernels/padding.h"
#include "vww_kernels.h"

namespace {

uint32_t g_state = 0x12345678u;
int8_t next_byte() {  // xorshift32: the same inputs on every host
  g_state ^= g_state << 13;
  g_state ^= g_state >> 17;
  g_state ^= g_state << 5;
  return static_cast<int8_t>(g_state >> 24);
}

int check(const RefLayer& l, int trials) {
  const vww_kernels::SpecialisedLayer* ours = vww_kernels::find_layer(l.filter_tensor);
  if (ours == nullptr) {
    std::printf("layer %d missing\n", l.op_index);
    return 1;
  }
  const int oc = l.oc;
  std::vector<int32_t> mult(oc), shift(oc);
  int quant_mismatches = 0;
  for (int c = 0; c < oc; ++c) {
    const double s = static_cast<double>(l.input_scale) * static_cast<double>(l.filter_scales[c]) /
                     static_cast<double>(l.output_scale);
    int sh;
    tflite::QuantizeMultiplier(s, &mult[c], &sh);
    shift[c] = sh;
    if (mult[c] != l.generated_multiplier[c] || shift[c] != l.generated_shift[c]) ++quant_mismatches;
  }
  int out_h, out_w;
  const TfLitePaddingValues pad =
      tflite::ComputePaddingHeightWidth(l.stride, l.stride, 1, 1, l.ih, l.iw, l.kh, l.kw,
                                        l.same_padding ? kTfLitePaddingSame : kTfLitePaddingValid, &out_h, &out_w);
  if (out_h != l.oh || out_w != l.ow) {
    std::printf("layer %d output shape differs\n", l.op_index);
    return 1;
  }
  const int32_t in_dims[] = {1, l.ih, l.iw, l.ic}, out_dims[] = {1, l.oh, l.ow, oc}, bias_dims[] = {oc};
  const int32_t dw_filter_dims[] = {1, l.kh, l.kw, oc}, filter_dims[] = {oc, l.kh, l.kw, l.ic};
  const tflite::RuntimeShape in_shape(4, in_dims), out_shape(4, out_dims), bias_shape(1, bias_dims);
  std::vector<int8_t> input(l.ih * l.iw * l.ic), ref(l.oh * l.ow * oc), got(l.oh * l.ow * oc);
  long mismatches = 0;
  for (int t = 0; t < trials; ++t) {
    for (auto& v : input)
      v = t == 0 ? -128 : t == 1 ? 127 : t == 2 ? static_cast<int8_t>(l.input_zero_point) : next_byte();
    if (l.depthwise) {
      tflite::DepthwiseParams p = {};
      p.padding_type = tflite::PaddingType::kSame;
      p.padding_values.width = pad.width;
      p.padding_values.height = pad.height;
      p.stride_width = p.stride_height = l.stride;
      p.dilation_width_factor = p.dilation_height_factor = 1;
      p.depth_multiplier = l.depth_multiplier;
      p.input_offset = -l.input_zero_point;
      p.output_offset = l.output_zero_point;
      p.quantized_activation_min = l.act_min;
      p.quantized_activation_max = l.act_max;
      tflite::reference_integer_ops::DepthwiseConvPerChannel(p, mult.data(), shift.data(), in_shape, input.data(),
                                                             tflite::RuntimeShape(4, dw_filter_dims), l.filter,
                                                             bias_shape, l.bias, out_shape, ref.data());
    } else {
      tflite::ConvParams p = {};
      p.padding_type = tflite::PaddingType::kSame;
      p.padding_values.width = pad.width;
      p.padding_values.height = pad.height;
      p.stride_width = p.stride_height = l.stride;
      p.dilation_width_factor = p.dilation_height_factor = 1;
      p.input_offset = -l.input_zero_point;
      p.output_offset = l.output_zero_point;
      p.quantized_activation_min = l.act_min;
      p.quantized_activation_max = l.act_max;
      tflite::reference_integer_ops::ConvPerChannel(p, mult.data(), shift.data(), in_shape, input.data(),
                                                    tflite::RuntimeShape(4, filter_dims), l.filter, bias_shape, l.bias,
                                                    out_shape, ref.data());
    }
    std::memset(got.data(), 0x55, got.size());
    // TFLM's own multipliers and shifts, as the firmware passes those its prepare computed
    const vww_kernels::KernelArgs args = {input.data(), l.filter, l.bias, got.data(), mult.data(), shift.data()};
    ours->run(args);
    for (size_t i = 0; i < got.size(); ++i) mismatches += got[i] != ref[i];
  }
  std::printf("layer %d trials %d mismatches %ld quant_mismatches %d\n", l.op_index, trials, mismatches,
              quant_mismatches);
  return mismatches != 0 || quant_mismatches != 0;
}

}  // namespace

int main(int argc, char** argv) {
  const int trials = argc > 1 ? std::atoi(argv[1]) : 8;
  int failed = 0;
  for (int i = 0; i < kRefLayerCount; ++i) failed += check(kRefLayers[i], trials);
  return failed ? 1 : 0;
}
