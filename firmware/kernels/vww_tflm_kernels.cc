// TFLM registrations for the model-specialised kernels (vww_kernels.h says how they fall back).
#include "tensorflow/lite/micro/kernels/conv.h"
#include "tensorflow/lite/micro/kernels/depthwise_conv.h"
#include "tensorflow/lite/micro/kernels/kernel_util.h"
#include "vww_kernels.h"

namespace vww_kernels {
namespace {

TFLMRegistration g_conv_base;
TFLMRegistration g_depthwise_base;

TfLiteStatus invoke_or_fall_back(TfLiteContext* context, TfLiteNode* node, const TFLMRegistration& base) {
  const SpecialisedLayer* layer = find_layer(node->inputs->data[1]);
  if (layer == nullptr) return base.invoke(context, node);
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
  return invoke_or_fall_back(context, node, g_conv_base);
}

TfLiteStatus depthwise_invoke(TfLiteContext* context, TfLiteNode* node) {
  return invoke_or_fall_back(context, node, g_depthwise_base);
}

}  // namespace

TFLMRegistration Register_CONV_2D_SPECIALISED() {
  g_conv_base = tflite::Register_CONV_2D();
  TFLMRegistration r = g_conv_base;
  r.invoke = conv_invoke;
  return r;
}

TFLMRegistration Register_DEPTHWISE_CONV_2D_SPECIALISED() {
  g_depthwise_base = tflite::Register_DEPTHWISE_CONV_2D();
  TFLMRegistration r = g_depthwise_base;
  r.invoke = depthwise_invoke;
  return r;
}

}  // namespace vww_kernels
