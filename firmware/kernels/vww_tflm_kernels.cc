// TFLM registrations for the model-specialised kernels (vww_kernels.h says how they fall back).
#include "tensorflow/lite/micro/kernels/conv.h"
#include "tensorflow/lite/micro/kernels/depthwise_conv.h"
#include "tensorflow/lite/micro/kernels/kernel_util.h"
#include "vww_kernels.h"

namespace vww_kernels {
namespace {

// The CMSIS-NN registration is rebuilt for a layer that falls back rather than
// kept in a static: no RAM beyond the CMSIS-NN build's.
TfLiteStatus invoke_or_fall_back(TfLiteContext* context, TfLiteNode* node, TFLMRegistration (*base)()) {
  const SpecialisedLayer* layer = find_layer(node->inputs->data[1]);
  if (layer == nullptr) return base().invoke(context, node);
  // CMSIS-NN's conv and depthwise OpData both start with the OpDataConv its
  // prepare filled (standard layout: the cast to the first member is valid).
  const auto* data = static_cast<const tflite::OpDataConv*>(node->user_data);
  KernelArgs args;
  args.input = tflite::micro::GetTensorData<int8_t>(tflite::micro::GetEvalInput(context, node, 0));
  args.filter = tflite::micro::GetTensorData<int8_t>(tflite::micro::GetEvalInput(context, node, 1));
  args.bias = tflite::micro::GetTensorData<int32_t>(tflite::micro::GetEvalInput(context, node, 2));
  args.output = tflite::micro::GetTensorData<int8_t>(tflite::micro::GetEvalOutput(context, node, 0));
  args.multiplier = data->per_channel_output_multiplier;
  args.shift = data->per_channel_output_shift;
  layer->run(args);
  return kTfLiteOk;
}

TfLiteStatus conv_invoke(TfLiteContext* context, TfLiteNode* node) {
  return invoke_or_fall_back(context, node, tflite::Register_CONV_2D);
}

TfLiteStatus depthwise_invoke(TfLiteContext* context, TfLiteNode* node) {
  return invoke_or_fall_back(context, node, tflite::Register_DEPTHWISE_CONV_2D);
}

}  // namespace

TFLMRegistration Register_CONV_2D_SPECIALISED() {
  TFLMRegistration r = tflite::Register_CONV_2D();
  r.invoke = conv_invoke;
  return r;
}

TFLMRegistration Register_DEPTHWISE_CONV_2D_SPECIALISED() {
  TFLMRegistration r = tflite::Register_DEPTHWISE_CONV_2D();
  r.invoke = depthwise_invoke;
  return r;
}

}  // namespace vww_kernels
