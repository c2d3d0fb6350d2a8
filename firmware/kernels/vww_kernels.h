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

struct SpecialisedLayer {
  int filter_tensor;  // index of the layer's filter in the model's subgraph: unique per layer
  // filter: the model's int8 weights, which the kernels read in place (no second copy in flash)
  void (*run)(const int8_t* input, const int8_t* filter, int8_t* output);
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
