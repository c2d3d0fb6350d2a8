// What the command loop needs from an inference engine. The firmware's implementation is TflmClassifier
// (tflm_classifier.h, the only core file that includes TFLM); host tests use a fake.
#ifndef VWW_CORE_CLASSIFIER_H_
#define VWW_CORE_CLASSIFIER_H_

#include <cstddef>
#include <cstdint>

#include "messages.h"

namespace vww {

class Classifier {
 public:
  // False when the model could not be set up (bad model, arena too small): INFO is still answered, every
  // inference gets ERROR INFERENCE_FAILED.
  virtual bool ready() const = 0;
  virtual const TensorDesc& input() const = 0;
  virtual const TensorDesc& output() const = 0;
  // The input tensor (input().element_count() int8 values); nullptr when not ready.
  virtual int8_t* input_data() = 0;
  // Runs the model on input_data(); false when the interpreter reports an error.
  virtual bool invoke() = 0;
  // The output tensor (output().element_count() int8 values) after a successful invoke().
  virtual const int8_t* output_data() const = 0;
  virtual uint32_t arena_size() const = 0;
  virtual uint32_t arena_used() const = 0;
  virtual uint8_t kernels() const = 0;              // kKernels* in messages.h
  virtual const uint8_t* model_sha256() const = 0;  // 32 raw bytes
  virtual size_t label_count() const = 0;
  virtual const char* label(size_t i) const = 0;
  // Why the model is not ready ("" when it is); sent as a LOG at boot and in INFERENCE_FAILED errors.
  virtual const char* status() const = 0;
  // The self-test's built-in vector (SELFTEST model_output): the CRC-32 of the built-in input codegen used (the
  // core rebuilds the input from the spec's formula, fill_selftest_input()) and the output().element_count()
  // values the TFLM host twin gave for it. False when the model sources carry none.
  virtual bool selftest_vector(uint32_t* /*input_crc32*/, const int8_t** /*expected*/) const { return false; }

 protected:
  ~Classifier() = default;  // never deleted through this interface (no heap on the board)
};

// The firmware's classifier (defined in tflm_classifier.cc): constructed on first call, never destroyed.
Classifier& default_classifier();

}  // namespace vww

#endif  // VWW_CORE_CLASSIFIER_H_
