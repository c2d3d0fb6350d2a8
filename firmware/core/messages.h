// Message types, error codes and payload layouts, docs/protocol.md section 3.
#ifndef VWW_CORE_MESSAGES_H_
#define VWW_CORE_MESSAGES_H_

#include <cstddef>
#include <cstdint>

namespace vww {

namespace msg {
// host -> device
constexpr uint8_t kHello = 0x01;
constexpr uint8_t kInfer = 0x02;
constexpr uint8_t kCapture = 0x03;
constexpr uint8_t kStreamStart = 0x04;
constexpr uint8_t kStreamStop = 0x05;
constexpr uint8_t kSetFrame = 0x06;
constexpr uint8_t kSetPipeline = 0x07;
constexpr uint8_t kStage = 0x08;
constexpr uint8_t kInferStaged = 0x09;
constexpr uint8_t kSelftest = 0x0A;
// device -> host
constexpr uint8_t kInfo = 0x81;
constexpr uint8_t kResult = 0x82;
constexpr uint8_t kFrame = 0x83;
constexpr uint8_t kAck = 0x84;
constexpr uint8_t kLog = 0x85;
constexpr uint8_t kReport = 0x86;
constexpr uint8_t kError = 0x8F;
}  // namespace msg

enum class ErrorCode : uint16_t {
  kBadCrc = 1,
  kBadVersion = 2,
  kUnknownType = 3,
  kTooLarge = 4,
  kBadShape = 5,
  kNoCamera = 6,
  kInferenceFailed = 7,
  kBusy = 8,
  kCameraFailed = 9,
  kBadPayload = 10,
  kStageMismatch = 11,
};

// CAPTURE / STREAM_START flags.
constexpr uint8_t kFlagRaw = 0x01;
constexpr uint8_t kFlagNoInfer = 0x02;
constexpr uint8_t kKnownFlags = kFlagRaw | kFlagNoInfer;

// Tensor / image dtypes.
constexpr uint8_t kDtypeInt8 = 1;
constexpr uint8_t kDtypeUint8 = 2;
constexpr uint8_t kDtypeFloat32 = 3;

// IMAGE kinds.
constexpr uint8_t kKindModelInput = 0;
constexpr uint8_t kKindRawFrame = 1;

// INFO kernels field.
constexpr uint8_t kKernelsUnknown = 0;
constexpr uint8_t kKernelsReference = 1;
constexpr uint8_t kKernelsCmsisNn = 2;
constexpr uint8_t kKernelsHostRuntime = 3;
constexpr uint8_t kKernelsGenerated = 4;  // model-specialised kernels, CMSIS-NN for the rest

// INFO capabilities bits.
constexpr uint8_t kCapCamera = 0x01;
constexpr uint8_t kCapInstructionCount = 0x02;
constexpr uint8_t kCapSetFrame = 0x04;
constexpr uint8_t kCapStaged = 0x08;

// Staged transfer (protocol section 3, "Staged transfer").
constexpr size_t kStageMaxData = 1024;      // data bytes one STAGE carries
constexpr size_t kStagingMinBytes = 27648;  // a device's staging buffer holds one 96x96x3 input
constexpr size_t kInferStagedSize = 12;     // IMAGE header + u32 CRC-32 of the pixels

constexpr size_t kImageHeaderSize = 8;
struct ImageHeader {
  uint16_t width = 0;
  uint16_t height = 0;
  uint8_t channels = 0;
  uint8_t dtype = 0;
  uint8_t kind = 0;
  uint8_t reserved = 0;
  size_t pixel_bytes() const { return static_cast<size_t>(width) * height * channels; }
};
// False when n < 8. Does not judge the fields (the command loop does, to pick BAD_SHAPE vs BAD_PAYLOAD).
bool parse_image_header(const uint8_t* payload, size_t n, ImageHeader* out);
void encode_image_header(const ImageHeader& h, uint8_t* out);

constexpr size_t kTensorInfoSize = 24;
struct TensorDesc {
  uint8_t dtype = kDtypeInt8;
  uint8_t rank = 0;
  uint16_t dims[4] = {0, 0, 0, 0};
  float scale = 0.0f;
  int32_t zero_point = 0;
  size_t element_count() const;
};
void encode_tensor_info(const TensorDesc& t, uint8_t* out);
bool decode_tensor_info(const uint8_t* in, TensorDesc* out);

constexpr size_t kInfoFixedSize = 104;
constexpr size_t kMaxLabels = 16;
struct InfoMessage {
  uint8_t protocol_version = 1;
  uint8_t kernels = kKernelsUnknown;
  uint8_t capabilities = 0;
  uint8_t pipeline_mode = 0;
  uint32_t firmware_version = 0;
  uint32_t clock_hz = 0;
  uint32_t arena_size = 0;
  uint32_t arena_used = 0;
  uint32_t max_rx_payload = 0;
  uint8_t model_sha256[32] = {};
  TensorDesc input;
  TensorDesc output;
  const char* board = "";
  const char* firmware_name = "";
  size_t label_count = 0;
  const char* labels[kMaxLabels] = {};
};
// Returns the payload size, or 0 when it does not fit in out_cap. Strings longer than 255 bytes are cut
// (at a UTF-8 character boundary), at most kMaxLabels labels are sent.
size_t encode_info(const InfoMessage& info, uint8_t* out, size_t out_cap);
// For tests and host tools: parses an INFO payload; string pointers point into `storage` (NUL-terminated copies).
bool decode_info(const uint8_t* in, size_t n, InfoMessage* out, char* storage, size_t storage_cap);

constexpr size_t kResultHeaderSize = 14;
void encode_result_header(uint32_t latency_us, uint64_t instructions, uint16_t score_count, uint8_t* out);

// ERROR payload: u16 code, u8 type, text. Returns the size written (text cut to fit out_cap).
size_t encode_error(ErrorCode code, uint8_t request_type, const char* text, uint8_t* out, size_t out_cap);

// LOG payload: u8 level, UTF-8 text. Returns the size written (text cut to fit out_cap).
size_t encode_log(uint8_t level, const char* text, uint8_t* out, size_t out_cap);

// STREAM_START payload (8 bytes). False when the length is wrong or unknown flag bits are set.
struct StreamStart {
  uint8_t flags = 0;
  uint16_t max_fps = 0;
  uint32_t count = 0;
};
bool parse_stream_start(const uint8_t* payload, size_t n, StreamStart* out);
void encode_stream_start(const StreamStart& s, uint8_t* out);

// STAGE payload: u32 offset, then 1..kStageMaxData data bytes. False when the length is outside 5..1028.
struct Stage {
  uint32_t offset = 0;
  const uint8_t* data = nullptr;  // points into the payload
  size_t length = 0;
};
bool parse_stage(const uint8_t* payload, size_t n, Stage* out);

// INFER_STAGED payload: the IMAGE header INFER would carry (no pixels), u32 CRC-32 of the pixel bytes.
// False when n != kInferStagedSize; the header fields are judged by the command loop, as for INFER.
bool parse_infer_staged(const uint8_t* payload, size_t n, ImageHeader* image, uint32_t* pixel_crc32);

// Self-test (protocol section 3, "Self-test"): SELFTEST has an empty payload, REPORT carries CHECK records.
namespace check {
constexpr uint8_t kSensorId = 0x01;
constexpr uint8_t kPatternPixels = 0x02;
constexpr uint8_t kDataD0 = 0x10;  // + line number, D0..D7
constexpr uint8_t kFrameRate = 0x20;
constexpr uint8_t kPixelsPerLine = 0x21;
constexpr uint8_t kLinesPerFrame = 0x22;
constexpr uint8_t kExposureConverged = 0x30;
constexpr uint8_t kExposureMean = 0x31;
constexpr uint8_t kCoreClock = 0x40;
constexpr uint8_t kArena = 0x50;
constexpr uint8_t kStack = 0x51;
constexpr uint8_t kHeap = 0x52;
constexpr uint8_t kModelOutput = 0x60;
}  // namespace check

enum class CheckStatus : uint8_t { kPass = 0, kFail = 1, kNotApplicable = 2 };
enum class CheckRule : uint8_t { kEqual = 0, kAtLeast = 1, kAtMost = 2, kWithin = 3 };

constexpr size_t kCheckSize = 16;
constexpr size_t kReportMaxChecks = 32;
constexpr uint16_t kSensorModelId = 0x01B0;  // HM01B0
constexpr uint32_t kStackHeadroom = 256;     // a high-water mark this close to the end counts as an overflow
// The spec's fixed expectations (protocol section 3), also in vwwdeploy/link/protocol/messages.py; the behaviour
// vectors compare every REPORT's expected and tolerance fields, so the two cannot drift apart.
constexpr uint32_t kMinFrameRateMilli = 1000;  // at least 1 frame/s
constexpr uint32_t kExposureTarget = 128;      // mean of a real frame: 128 +- 96
constexpr uint32_t kExposureTolerance = 96;

struct Check {
  uint8_t id = 0;
  CheckStatus status = CheckStatus::kNotApplicable;
  CheckRule rule = CheckRule::kEqual;
  uint32_t measured = 0;
  uint32_t expected = 0;
  uint32_t tolerance = 0;
  bool rule_holds() const;
  // status = pass when the rule holds, else fail.
  static Check judged(uint8_t id, CheckRule rule, uint32_t measured, uint32_t expected, uint32_t tolerance = 0);
  // A probe that could not run: fail with measured 0.
  static Check failed(uint8_t id, CheckRule rule, uint32_t expected, uint32_t tolerance = 0);
  static Check not_applicable(uint8_t id, CheckRule rule, uint32_t expected, uint32_t tolerance = 0);
};

// The self-test's built-in model input (protocol section 3, model_output): value i of the flattened input is
// int8(((i * 2654435761) mod 2^32) >> 24) - 128.
void fill_selftest_input(int8_t* out, size_t n);

// REPORT payload. Returns the size written, or 0 when n is 0 or above kReportMaxChecks or out_cap is short.
size_t encode_report(const Check* checks, size_t n, uint8_t* out, size_t out_cap);
// For tests and host tools: false when the payload is malformed (protocol section 3).
bool decode_report(const uint8_t* in, size_t n, Check* out, size_t out_cap, size_t* count);

}  // namespace vww

#endif  // VWW_CORE_MESSAGES_H_
