#include "tflm_classifier.h"

#include <new>

#include "model_data.h"
#ifdef VWW_OP_PROFILE
#include "board.h"
#include "tensorflow/lite/micro/micro_log.h"
#include "tensorflow/lite/micro/micro_profiler_interface.h"
#endif
#ifdef VWW_KERNELS_GENERATED
#include "vww_generated_kernels.h"  // model-specialised kernels (firmware/kernels/, vwwdeploy/model/kernels/)
#endif
#include "tensorflow/lite/schema/schema_generated.h"

#if defined(VWW_KERNELS_CMSIS_NN) + defined(VWW_KERNELS_REFERENCE) + defined(VWW_KERNELS_GENERATED) > 1
#error "define at most one of VWW_KERNELS_CMSIS_NN, VWW_KERNELS_REFERENCE and VWW_KERNELS_GENERATED"
#endif

namespace vww {
namespace {

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Settings describe the model the firmware was generated for; setup() checks the interpreter agrees.
TensorDesc settings_input() {
  TensorDesc t;
  t.dtype = kDtypeInt8;
  t.rank = 4;
  t.dims[0] = 1;
  t.dims[1] = vwwdeploy_model::kInputHeight;
  t.dims[2] = vwwdeploy_model::kInputWidth;
  t.dims[3] = vwwdeploy_model::kInputChannels;
  t.scale = vwwdeploy_model::kInputScale;
  t.zero_point = vwwdeploy_model::kInputZeroPoint;
  return t;
}

TensorDesc settings_output() {
  TensorDesc t;
  t.dtype = kDtypeInt8;
  t.rank = 2;
  t.dims[0] = 1;
  t.dims[1] = vwwdeploy_model::kClassCount;
  t.scale = vwwdeploy_model::kOutputScale;
  t.zero_point = vwwdeploy_model::kOutputZeroPoint;
  return t;
}

#ifdef VWW_OP_PROFILE
// Instructions per operator, for builds made with -DVWW_OP_PROFILE (`vwwdeploy firmware build --board qemu
// --op-profile`). TFLM's interpreter brackets each op's Invoke() with BeginEvent()/EndEvent() when it has a
// profiler; this one reads the board's instruction counter at both ends and, after each inference, prints
// one line per op through MicroPrintf (the QEMU board sends those to semihosting, i.e. QEMU's stderr):
//   vww-op <index> <op name> <instructions>
//   vww-op-end <op count>
class OpProfiler final : public tflite::MicroProfilerInterface {
 public:
  static constexpr uint32_t kMaxOps = 128;

  uint32_t BeginEvent(const char* tag) override {
    const uint32_t handle = count_ < kMaxOps ? count_++ : kMaxOps - 1;
    tags_[handle] = tag;
    start_[handle] = board::instruction_count();
    return handle;
  }

  void EndEvent(uint32_t handle) override { instructions_[handle] = board::instruction_count() - start_[handle]; }

  void start() { count_ = 0; }

  void report() const {
    for (uint32_t i = 0; i < count_; ++i) {
      MicroPrintf("vww-op %u %s %lu", static_cast<unsigned>(i), tags_[i], static_cast<unsigned long>(instructions_[i]));
    }
    MicroPrintf("vww-op-end %u", static_cast<unsigned>(count_));
  }

 private:
  uint32_t count_ = 0;
  const char* tags_[kMaxOps] = {};
  uint64_t start_[kMaxOps] = {};
  uint64_t instructions_[kMaxOps] = {};
};

// Constructed in setup(), never destroyed (a global with a destructor would need __cxa_atexit).
alignas(OpProfiler) uint8_t g_op_profiler_storage[sizeof(OpProfiler)];
OpProfiler* g_op_profiler = nullptr;
#endif

size_t element_count(const TfLiteTensor* t) {
  size_t n = 1;
  for (int i = 0; i < t->dims->size; ++i) n *= static_cast<size_t>(t->dims->data[i]);
  return n;
}

}  // namespace

TflmClassifier::TflmClassifier(uint8_t* arena, size_t arena_size)
    : arena_(arena), arena_size_(arena_size), input_desc_(settings_input()), output_desc_(settings_output()) {
  for (int i = 0; i < 32; ++i) {
    const int hi = hex_value(vwwdeploy_model::kModelSha256[2 * i]);
    const int lo = hex_value(vwwdeploy_model::kModelSha256[2 * i + 1]);
    sha256_[i] = (hi < 0 || lo < 0) ? 0 : static_cast<uint8_t>(hi * 16 + lo);
  }
  ready_ = setup();
  if (ready_) status_ = "";
}

bool TflmClassifier::setup() {
  const tflite::Model* model = tflite::GetModel(vwwdeploy_model::kModelData);
  if (model->version() != TFLITE_SCHEMA_VERSION) {
    status_ = "model schema version differs from this TFLM";
    return false;
  }
#ifdef VWW_KERNELS_GENERATED
  VWW_GENERATED_ADD_OPS(resolver_);
#else
  VWWDEPLOY_ADD_OPS(resolver_);
#endif
#ifdef VWW_OP_PROFILE
  g_op_profiler = new (g_op_profiler_storage) OpProfiler();
  interpreter_ = new (interpreter_storage_)
      tflite::MicroInterpreter(model, resolver_, arena_, arena_size_, nullptr, g_op_profiler);
#else
  interpreter_ = new (interpreter_storage_) tflite::MicroInterpreter(model, resolver_, arena_, arena_size_);
#endif
  if (interpreter_->AllocateTensors() != kTfLiteOk) {
    status_ = "AllocateTensors failed (arena too small or an op is not registered)";
    return false;
  }
  input_tensor_ = interpreter_->input(0);
  output_tensor_ = interpreter_->output(0);
  if (input_tensor_ == nullptr || output_tensor_ == nullptr || input_tensor_->type != kTfLiteInt8 ||
      output_tensor_->type != kTfLiteInt8) {
    status_ = "model input and output must be int8";
    return false;
  }
  if (element_count(input_tensor_) != input_desc_.element_count() ||
      element_count(output_tensor_) != output_desc_.element_count()) {
    status_ = "model tensors differ from model_settings.h";
    return false;
  }
  return true;
}

int8_t* TflmClassifier::input_data() { return ready_ ? input_tensor_->data.int8 : nullptr; }

bool TflmClassifier::invoke() {
#ifdef VWW_OP_PROFILE
  if (!ready_) return false;
  g_op_profiler->start();
  const bool ok = interpreter_->Invoke() == kTfLiteOk;
  g_op_profiler->report();  // counted in RESULT's total, not in the per-op figures
  return ok;
#else
  return ready_ && interpreter_->Invoke() == kTfLiteOk;
#endif
}

const int8_t* TflmClassifier::output_data() const { return ready_ ? output_tensor_->data.int8 : nullptr; }

uint32_t TflmClassifier::arena_used() const {
  return interpreter_ ? static_cast<uint32_t>(interpreter_->arena_used_bytes()) : 0;
}

uint8_t TflmClassifier::kernels() const {
#if defined(VWW_KERNELS_CMSIS_NN)
  return kKernelsCmsisNn;
#elif defined(VWW_KERNELS_REFERENCE)
  return kKernelsReference;
#elif defined(VWW_KERNELS_GENERATED)
  return kKernelsGenerated;
#else
  return kKernelsUnknown;
#endif
}

const char* TflmClassifier::label(size_t i) const {
  return i < static_cast<size_t>(vwwdeploy_model::kClassCount) ? vwwdeploy_model::kLabels[i] : "";
}

bool TflmClassifier::selftest_vector(uint32_t* input_crc32, const int8_t** expected) const {
#if defined(VWWDEPLOY_HAS_SELFTEST_VECTOR)
  static_assert(vwwdeploy_model::kSelftestInputLen == static_cast<unsigned>(vwwdeploy_model::kInputHeight) *
                                                          vwwdeploy_model::kInputWidth *
                                                          vwwdeploy_model::kInputChannels,
                "the self-test input must match the model input");
  static_assert(sizeof vwwdeploy_model::kSelftestOutput == static_cast<size_t>(vwwdeploy_model::kClassCount),
                "the self-test output must match the model output");
  *input_crc32 = vwwdeploy_model::kSelftestInputCrc32;
  *expected = reinterpret_cast<const int8_t*>(vwwdeploy_model::kSelftestOutput);
  return true;
#else  // model sources generated before codegen embedded the vector
  (void)input_crc32;
  (void)expected;
  return false;
#endif
}

namespace {
alignas(16) uint8_t g_arena[vwwdeploy_model::kArenaSize];
alignas(TflmClassifier) uint8_t g_classifier_storage[sizeof(TflmClassifier)];
TflmClassifier* g_classifier = nullptr;
}  // namespace

Classifier& default_classifier() {
  if (g_classifier == nullptr) g_classifier = new (g_classifier_storage) TflmClassifier(g_arena, sizeof g_arena);
  return *g_classifier;
}

}  // namespace vww
