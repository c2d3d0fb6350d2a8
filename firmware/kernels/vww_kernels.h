// Model-specialised convolution kernels inside TFLM (`--kernels generated`): the generated
// vww_generated_kernels.cc lists the layers it covers by their filter tensor; the registrations below
// wrap CMSIS-NN's CONV_2D / DEPTHWISE_CONV_2D (same init and prepare, so the same arena and scratch
// buffers) and run the specialised kernel for a covered layer, CMSIS-NN's for any other.
#ifndef VWW_KERNELS_VWW_KERNELS_H_
#define VWW_KERNELS_VWW_KERNELS_H_

#include <cstdint>

#ifndef VWW_KERNELS_NO_TFLM
#include "tensorflow/lite/micro/micro_common.h"
#endif

namespace vww_kernels {

// What a layer's kernel reads at run time: the tensors, and TFLM's per-channel
// multipliers and shifts that prepare computed (in the arena), so that none of
// them is stored a second time in flash.
struct KernelArgs {
  const int8_t* input;
  const int8_t* filter;  // the model's int8 weights, read in place
  const int32_t* bias;   // the model's int32 bias
  int8_t* output;
  const int32_t* multiplier;  // per output channel
  const int32_t* shift;       // per output channel, TFLM's sign (> 0: left)
};

struct SpecialisedLayer {
  int filter_tensor;  // index of the layer's filter in the model's subgraph: unique per layer
  void (*run)(const KernelArgs& args);
};

extern const SpecialisedLayer kSpecialisedLayers[];
extern const int kSpecialisedLayerCount;

inline const SpecialisedLayer* find_layer(int filter_tensor) {
  for (int i = 0; i < kSpecialisedLayerCount; ++i) {
    if (kSpecialisedLayers[i].filter_tensor == filter_tensor && kSpecialisedLayers[i].run != nullptr) {
      return &kSpecialisedLayers[i];
    }
  }
  return nullptr;
}

#ifndef VWW_KERNELS_NO_TFLM
TFLMRegistration Register_CONV_2D_SPECIALISED();
TFLMRegistration Register_DEPTHWISE_CONV_2D_SPECIALISED();
#endif

}  // namespace vww_kernels

#endif  // VWW_KERNELS_VWW_KERNELS_H_
