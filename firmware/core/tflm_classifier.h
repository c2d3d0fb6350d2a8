// The Classifier over TFLite Micro: the one core file that needs TFLM and the generated model sources
// (`vwwdeploy codegen`: model_data.h, model_settings.h). Kernel flavour comes from the build:
// -DVWW_KERNELS_CMSIS_NN or -DVWW_KERNELS_REFERENCE (reported in INFO).
#ifndef VWW_CORE_TFLM_CLASSIFIER_H_
#define VWW_CORE_TFLM_CLASSIFIER_H_

#include <cstddef>
#include <cstdint>

#include "classifier.h"
#include "model_settings.h"
#include "tensorflow/lite/micro/micro_interpreter.h"
#include "tensorflow/lite/micro/micro_mutable_op_resolver.h"

namespace vww {

class TflmClassifier final : public Classifier {
 public:
  // arena: 16-byte aligned, arena_size bytes (vwwdeploy_model::kArenaSize for the firmware).
  TflmClassifier(uint8_t* arena, size_t arena_size);

  bool ready() const override { return ready_; }
  const TensorDesc& input() const override { return input_desc_; }
  const TensorDesc& output() const override { return output_desc_; }
  int8_t* input_data() override;
  bool invoke() override;
  const int8_t* output_data() const override;
  uint32_t arena_size() const override { return static_cast<uint32_t>(arena_size_); }
  uint32_t arena_used() const override;
  uint8_t kernels() const override;
  const uint8_t* model_sha256() const override { return sha256_; }
  size_t label_count() const override { return vwwdeploy_model::kClassCount; }
  const char* label(size_t i) const override;

  const char* status() const override { return status_; }
  bool selftest_vector(uint32_t* input_crc32, const int8_t** expected) const override;

 private:
  bool setup();

  tflite::MicroMutableOpResolver<vwwdeploy_model::kOpCount> resolver_;
  // The interpreter lives in this storage (constructed in setup(), never destroyed): no heap on the board.
  alignas(tflite::MicroInterpreter) uint8_t interpreter_storage_[sizeof(tflite::MicroInterpreter)];
  tflite::MicroInterpreter* interpreter_ = nullptr;
  TfLiteTensor* input_tensor_ = nullptr;
  TfLiteTensor* output_tensor_ = nullptr;
  uint8_t* arena_;
  size_t arena_size_;
  bool ready_ = false;
  const char* status_ = "not set up";
  TensorDesc input_desc_;
  TensorDesc output_desc_;
  uint8_t sha256_[32] = {};
};

}  // namespace vww

#endif  // VWW_CORE_TFLM_CLASSIFIER_H_
