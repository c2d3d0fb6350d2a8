#include "command_loop.h"

#include <cstring>

#include "bytes.h"
#include "crc.h"
#include "version.h"

namespace vww {
namespace {

constexpr size_t kInfoBufferSize = kInfoFixedSize + 2 * 256 + 1 + kMaxLabels * 64;
constexpr size_t kRawSetFramePayload = kImageHeaderSize + kRawFrameBytes;

}  // namespace

CommandLoop::CommandLoop(Transport& transport, Classifier& classifier, Platform& platform, uint8_t* rx_buffer,
                         size_t rx_buffer_size, uint8_t* raw_frame, uint8_t* staging, size_t staging_size)
    : transport_(transport),
      classifier_(classifier),
      platform_(platform),
      decoder_(rx_buffer, rx_buffer_size,
               rx_buffer_size > kFrameOverhead ? static_cast<uint32_t>(rx_buffer_size - kFrameOverhead) : 0),
      raw_(raw_frame),
      staging_(staging_size >= kStagingMinBytes ? staging : nullptr),
      staging_size_(staging_size >= kStagingMinBytes && staging ? staging_size : 0) {
  // Which score lights the "person" LED: the label called "person", else the last of two classes.
  for (size_t i = 0; i < classifier_.label_count(); ++i) {
    const char* l = classifier_.label(i);
    if (l && std::strcmp(l, "person") == 0) person_index_ = static_cast<int>(i);
  }
  if (person_index_ < 0 && classifier_.output().element_count() == 2) person_index_ = 1;
  // Once per model: the camera path then maps a pixel with one lookup (protocol section 5).
  build_input_table(classifier_.input().scale, classifier_.input().zero_point, input_table_);
}

void CommandLoop::boot() {
  last_rx_us_ = platform_.micros();
  send_info(next_device_seq());
  if (!classifier_.ready()) {
    // Say why once, where a serial monitor shows it; every inference request will get INFERENCE_FAILED.
    uint8_t buf[160];
    char text[140] = "model not initialised: ";
    std::strncat(text, classifier_.status(), sizeof text - std::strlen(text) - 1);
    write_frame(transport_, msg::kLog, next_device_seq(), buf, encode_log(3, text, buf, sizeof buf));
  }
}

void CommandLoop::poll() {
  uint8_t chunk[kReadChunk];
  size_t total = 0;
  while (total < kMaxReadPerPoll) {
    const size_t got = transport_.read(chunk, sizeof chunk);
    if (got == 0) break;
    total += got;
    const uint8_t* p = chunk;
    size_t left = got;
    while (left) {
      const size_t k = decoder_.feed(p, left);
      p += k;
      left -= k;
      for (DecoderEvent ev = decoder_.poll(); ev.kind != DecoderEvent::kNone; ev = decoder_.poll()) handle(ev);
    }
  }
  const uint64_t now = platform_.micros();
  if (total) {
    last_rx_us_ = now;
  } else if (decoder_.pending() && now - last_rx_us_ > platform_.inter_byte_timeout_us()) {
    // The host stopped mid-frame (unplugged, reset, lost bytes): give up on it so the next frame is seen.
    // A cut-short request with a valid header gets BAD_CRC so the host resends without its own timeout.
    FrameHeader h;
    if (decoder_.partial_header(&h)) send_error(h.seq, ErrorCode::kBadCrc, h.type, "frame cut short");
    decoder_.timeout();
    for (DecoderEvent ev = decoder_.poll(); ev.kind != DecoderEvent::kNone; ev = decoder_.poll()) handle(ev);
  }
  if (streaming_) {
    // The inter-byte timeout measures silence while we listen: time spent on a stream group is not
    // the host's fault, so it must not expire a frame whose remaining bytes are still on their way.
    const uint64_t t0 = platform_.micros();
    stream_step();
    last_rx_us_ += platform_.micros() - t0;
  }
}

void CommandLoop::handle(const DecoderEvent& ev) {
  switch (ev.kind) {
    case DecoderEvent::kFrame:
      ++requests_;
      dispatch(ev.header.type, ev.header.seq, ev.payload, ev.header.length);
      break;
    case DecoderEvent::kBadCrc:
      send_error(ev.header.seq, ErrorCode::kBadCrc, ev.header.type, "frame CRC mismatch");
      break;
    case DecoderEvent::kTooLarge:
      send_error(ev.header.seq, ErrorCode::kTooLarge, ev.header.type, "payload exceeds DEVICE_MAX_RX_PAYLOAD");
      break;
    case DecoderEvent::kNone:
      break;
  }
}

void CommandLoop::dispatch(uint8_t type, uint16_t seq, const uint8_t* payload, size_t n) {
  const bool known = (type >= msg::kHello && type <= msg::kSetPipeline) || type == msg::kSelftest ||
                     ((type == msg::kStage || type == msg::kInferStaged) && staging_ != nullptr);
  if (!known) {
    send_error(seq, ErrorCode::kUnknownType, type, "unknown message type");
    return;
  }
  // HELLO and STREAM_STOP ignore any payload: they must work whatever state the host believes we are in.
  if (type == msg::kHello) {
    send_info(seq);
    return;
  }
  if (type == msg::kStreamStop) {
    streaming_ = false;  // the group in progress, if any, was finished by stream_step() already
    send_ack(seq, type);
    return;
  }
  if (streaming_) {
    send_error(seq, ErrorCode::kBusy, type, "streaming; send STREAM_STOP first");
    return;
  }
  switch (type) {
    case msg::kInfer:
      on_infer(seq, payload, n);
      break;
    case msg::kCapture:
      on_capture(seq, payload, n);
      break;
    case msg::kStreamStart:
      on_stream_start(seq, payload, n);
      break;
    case msg::kSetFrame:
      on_set_frame(seq, payload, n);
      break;
    case msg::kSetPipeline:
      on_set_pipeline(seq, payload, n);
      break;
    case msg::kStage:
      on_stage(seq, payload, n);
      break;
    case msg::kInferStaged:
      on_infer_staged(seq, payload, n);
      break;
    case msg::kSelftest:
      on_selftest(seq, payload, n);
      break;
    default:
      send_error(seq, ErrorCode::kUnknownType, type, "unknown message type");
      break;
  }
}

bool CommandLoop::model_hwc(int* h, int* w, int* c) const {
  const TensorDesc& in = classifier_.input();
  if (in.rank == 4) {
    *h = in.dims[1];
    *w = in.dims[2];
    *c = in.dims[3];
  } else if (in.rank == 3) {
    *h = in.dims[0];
    *w = in.dims[1];
    *c = in.dims[2];
  } else {
    return false;
  }
  return true;
}

bool CommandLoop::pipeline_feeds_model() const {
  int h, w, c;
  return model_hwc(&h, &w, &c) && pipeline_supports(h, w, c) && classifier_.input().dtype == kDtypeInt8;
}

void CommandLoop::on_infer(uint16_t seq, const uint8_t* payload, size_t n) {
  ImageHeader img;
  if (!parse_image_header(payload, n, &img)) {
    send_error(seq, ErrorCode::kBadPayload, msg::kInfer, "INFER payload shorter than its image header");
    return;
  }
  if (n != kImageHeaderSize + img.pixel_bytes()) {
    send_error(seq, ErrorCode::kBadPayload, msg::kInfer, "INFER payload length does not match its image header");
    return;
  }
  if (!check_model_input(seq, msg::kInfer, img)) return;
  int8_t* input = classifier_.input_data();
  if (!classifier_.ready() || input == nullptr) {
    send_error(seq, ErrorCode::kInferenceFailed, msg::kInfer, classifier_.status());
    return;
  }
  std::memcpy(input, payload + kImageHeaderSize, img.pixel_bytes());
  infer_and_report(seq, msg::kInfer);
}

bool CommandLoop::check_model_input(uint16_t seq, uint8_t request_type, const ImageHeader& img) {
  int h, w, c;
  if (!model_hwc(&h, &w, &c) || img.width != w || img.height != h || img.channels != c || img.dtype != kDtypeInt8 ||
      img.kind != kKindModelInput || classifier_.input().dtype != kDtypeInt8) {
    send_error(seq, ErrorCode::kBadShape, request_type, "image must be the model input: kind 0, int8, HxWxC");
    return false;
  }
  return true;
}

void CommandLoop::on_stage(uint16_t seq, const uint8_t* payload, size_t n) {
  Stage st;
  if (!parse_stage(payload, n, &st)) {
    send_error(seq, ErrorCode::kBadPayload, msg::kStage, "STAGE takes u32 offset and 1..1024 data bytes");
    return;
  }
  if (st.offset > staging_size_ || st.length > staging_size_ - st.offset) {
    send_error(seq, ErrorCode::kTooLarge, msg::kStage, "STAGE ends beyond the staging buffer");
    return;
  }
  std::memcpy(staging_ + st.offset, st.data, st.length);
  send_ack(seq, msg::kStage);
}

void CommandLoop::on_infer_staged(uint16_t seq, const uint8_t* payload, size_t n) {
  ImageHeader img;
  uint32_t crc = 0;
  if (!parse_infer_staged(payload, n, &img, &crc)) {
    send_error(seq, ErrorCode::kBadPayload, msg::kInferStaged,
               "INFER_STAGED takes an 8-byte image header and a CRC-32");
    return;
  }
  if (!check_model_input(seq, msg::kInferStaged, img)) return;
  if (img.pixel_bytes() > staging_size_) {
    send_error(seq, ErrorCode::kTooLarge, msg::kInferStaged, "image larger than the staging buffer");
    return;
  }
  if (crc32(staging_, img.pixel_bytes()) != crc) {
    send_error(seq, ErrorCode::kStageMismatch, msg::kInferStaged, "staged bytes differ from the CRC-32 named");
    return;
  }
  int8_t* input = classifier_.input_data();
  if (!classifier_.ready() || input == nullptr) {
    send_error(seq, ErrorCode::kInferenceFailed, msg::kInferStaged, classifier_.status());
    return;
  }
  std::memcpy(input, staging_, img.pixel_bytes());
  infer_and_report(seq, msg::kInferStaged);
}

bool CommandLoop::infer_and_report(uint16_t seq, uint8_t request_type) {
  const uint64_t i0 = platform_.instruction_count();
  const uint64_t t0 = platform_.micros();
  const bool ok = classifier_.ready() && classifier_.invoke();
  const uint64_t t1 = platform_.micros();
  const uint64_t i1 = platform_.instruction_count();
  if (!ok) {
    platform_.led(LedId::kError, true);
    send_error(seq, ErrorCode::kInferenceFailed, request_type, "interpreter Invoke failed");
    return false;
  }
  const int8_t* scores = classifier_.output_data();
  size_t count = classifier_.output().element_count();
  if (count > 0xFFFF) count = 0xFFFF;
  const uint64_t dt = t1 - t0;
  uint8_t head[kResultHeaderSize];
  encode_result_header(dt > 0xFFFFFFFFu ? 0xFFFFFFFFu : static_cast<uint32_t>(dt), (i0 || i1) ? i1 - i0 : 0,
                       static_cast<uint16_t>(count), head);
  FrameWriter w(transport_);
  w.begin(msg::kResult, seq, static_cast<uint32_t>(kResultHeaderSize + count));
  w.write(head, sizeof head);
  w.write(reinterpret_cast<const uint8_t*>(scores), count);
  w.end();

  platform_.led(LedId::kError, false);
  if (person_index_ >= 0 && count >= 2) {
    // "Person" when its score beats every other class.
    bool person = true;
    for (size_t i = 0; i < count; ++i) {
      if (static_cast<int>(i) != person_index_ && scores[i] >= scores[person_index_]) person = false;
    }
    platform_.led(LedId::kPerson, person);
    platform_.led(LedId::kNoPerson, !person);
  }
  return true;
}

void CommandLoop::on_capture(uint16_t seq, const uint8_t* payload, size_t n) {
  if (n != 1 || (payload[0] & ~kKnownFlags)) {
    send_error(seq, ErrorCode::kBadPayload, msg::kCapture, "CAPTURE takes one flags byte (bits 0-1)");
    return;
  }
  capture_group(seq, payload[0], msg::kCapture);
}

bool CommandLoop::capture_group(uint16_t seq, uint8_t flags, uint8_t request_type) {
  const bool infer = !(flags & kFlagNoInfer);
  if (infer && !pipeline_feeds_model()) {
    send_error(seq, ErrorCode::kBadShape, request_type, "the camera pipeline cannot make this model's input");
    return false;
  }
  if (infer && (!classifier_.ready() || classifier_.input_data() == nullptr)) {
    send_error(seq, ErrorCode::kInferenceFailed, request_type, classifier_.status());
    return false;
  }
  // A SET_FRAME frame replaces the camera until the next reset (protocol section 4), so a host can check
  // the pipeline on a board with a sensor too.
  if (!have_set_frame_ && platform_.camera_available()) {
    if (!platform_.camera_capture(raw_)) {
      platform_.led(LedId::kError, true);
      send_error(seq, ErrorCode::kCameraFailed, request_type, "camera delivered no frame");
      return false;
    }
  } else if (!have_set_frame_) {
    fill_test_pattern(raw_);  // boards without a camera stay testable (protocol section 4)
  }
  // A model the pipeline cannot feed still gets a frame to look at when no inference was asked for:
  // the 96x96x1 of the original detector (protocol section 4).
  int h = kPipelineSize, w = kPipelineSize, c = 1;
  if (pipeline_feeds_model()) model_hwc(&h, &w, &c);
  send_model_input_frame(seq, h, w, c);
  if (flags & kFlagRaw) send_raw_frame(seq);
  if (!infer) return true;
  raw_to_input(mode_, raw_, h, w, c, input_table_, classifier_.input_data());
  return infer_and_report(seq, request_type);
}

void CommandLoop::send_model_input_frame(uint16_t seq, int height, int width, int channels) {
  ImageHeader img;
  img.width = static_cast<uint16_t>(width);
  img.height = static_cast<uint16_t>(height);
  img.channels = static_cast<uint8_t>(channels);
  img.dtype = kDtypeUint8;
  img.kind = kKindModelInput;
  uint8_t head[kImageHeaderSize];
  encode_image_header(img, head);
  FrameWriter w(transport_);
  w.begin(msg::kFrame, seq, static_cast<uint32_t>(kImageHeaderSize + img.pixel_bytes()));
  w.write(head, sizeof head);
  // Row by row, so a FRAME costs no frame-sized buffer.
  uint8_t row[kMaxSide];
  uint8_t wide[kMaxSide * 3];
  for (int y = 0; y < height; ++y) {
    resample_row(mode_, raw_, height, width, y, row);
    if (channels == 1) {
      w.write(row, static_cast<size_t>(width));
    } else {
      for (int x = 0; x < width; ++x) {
        for (int k = 0; k < channels; ++k) wide[x * channels + k] = row[x];
      }
      w.write(wide, static_cast<size_t>(width) * channels);
    }
  }
  w.end();
}

void CommandLoop::send_raw_frame(uint16_t seq) {
  ImageHeader img;
  img.width = kRawWidth;
  img.height = kRawHeight;
  img.channels = 1;
  img.dtype = kDtypeUint8;
  img.kind = kKindRawFrame;
  uint8_t head[kImageHeaderSize];
  encode_image_header(img, head);
  FrameWriter w(transport_);
  w.begin(msg::kFrame, seq, static_cast<uint32_t>(kImageHeaderSize + kRawFrameBytes));
  w.write(head, sizeof head);
  w.write(raw_, kRawFrameBytes);
  w.end();
}

void CommandLoop::on_stream_start(uint16_t seq, const uint8_t* payload, size_t n) {
  StreamStart req;
  if (!parse_stream_start(payload, n, &req)) {
    send_error(seq, ErrorCode::kBadPayload, msg::kStreamStart,
               "STREAM_START takes u8 flags (bits 0-1), u8 reserved, u16 max_fps, u32 count");
    return;
  }
  stream_flags_ = req.flags;
  stream_remaining_ = req.count;
  stream_interval_us_ = req.max_fps ? 1000000u / req.max_fps : 0;
  stream_next_us_ = platform_.micros();
  streaming_ = true;
  send_ack(seq, msg::kStreamStart);
  stream_group_end_us_ = 0;  // a deaf board's listen window then counts from the request's last byte
}

void CommandLoop::stream_step() {
  const uint64_t now = platform_.micros();
  if (now < stream_next_us_) return;
  if (platform_.deaf_during_capture()) {
    // The host may send STREAM_STOP only after a group ends: listen until the line has been quiet for the
    // window, and never start a capture (interrupts off) with a request half received.
    const uint64_t quiet_since = last_rx_us_ > stream_group_end_us_ ? last_rx_us_ : stream_group_end_us_;
    if (decoder_.pending() || now - quiet_since < kStreamListenUs) return;
  }
  // Pace from the previous due time, but never try to catch up on groups a slow camera missed.
  stream_next_us_ += stream_interval_us_;
  if (stream_next_us_ < now) stream_next_us_ = now;
  const bool ok = capture_group(next_device_seq(), stream_flags_, msg::kStreamStart);
  stream_group_end_us_ = platform_.micros();
  if (!ok) {
    streaming_ = false;  // the ERROR already told the host why
    return;
  }
  if (stream_remaining_ && --stream_remaining_ == 0) streaming_ = false;
}

void CommandLoop::on_set_frame(uint16_t seq, const uint8_t* payload, size_t n) {
  ImageHeader img;
  if (!parse_image_header(payload, n, &img)) {
    send_error(seq, ErrorCode::kBadPayload, msg::kSetFrame, "SET_FRAME payload shorter than its image header");
    return;
  }
  if (n != kImageHeaderSize + img.pixel_bytes()) {
    send_error(seq, ErrorCode::kBadPayload, msg::kSetFrame, "SET_FRAME payload length does not match its image header");
    return;
  }
  if (img.width != kRawWidth || img.height != kRawHeight || img.channels != 1 || img.dtype != kDtypeUint8 ||
      img.kind != kKindRawFrame) {
    send_error(seq, ErrorCode::kBadShape, msg::kSetFrame, "SET_FRAME image must be kind 1, uint8, 324x244x1");
    return;
  }
  std::memcpy(raw_, payload + kImageHeaderSize, kRawFrameBytes);
  have_set_frame_ = true;
  send_ack(seq, msg::kSetFrame);
}

void CommandLoop::on_set_pipeline(uint16_t seq, const uint8_t* payload, size_t n) {
  if (n != 1 || payload[0] > 1) {
    send_error(seq, ErrorCode::kBadPayload, msg::kSetPipeline, "SET_PIPELINE takes one byte: 0 or 1");
    return;
  }
  mode_ = static_cast<PipelineMode>(payload[0]);
  send_ack(seq, msg::kSetPipeline);
}

void CommandLoop::on_selftest(uint16_t seq, const uint8_t* /*payload*/, size_t n) {
  if (n != 0) {
    send_error(seq, ErrorCode::kBadPayload, msg::kSelftest, "SELFTEST takes no payload");
    return;
  }
  Check checks[kReportMaxChecks];
  size_t count = camera_checks(checks);
  count += board_checks(checks + count);
  uint8_t buf[1 + kReportMaxChecks * kCheckSize];
  write_frame(transport_, msg::kReport, seq, buf, encode_report(checks, count, buf, sizeof buf));
}

size_t CommandLoop::camera_checks(Check* out) {
  size_t k = 0;
  if (!platform_.camera_fitted()) {  // QEMU: no camera on this board, nothing to fail
    out[k++] = Check::not_applicable(check::kSensorId, CheckRule::kEqual, kSensorModelId);
    out[k++] = Check::not_applicable(check::kPatternPixels, CheckRule::kAtLeast, kRawFrameBytes);
    for (uint8_t b = 0; b < 8; ++b) out[k++] = Check::not_applicable(check::kDataD0 + b, CheckRule::kEqual, 0);
    out[k++] = Check::not_applicable(check::kFrameRate, CheckRule::kAtLeast, kMinFrameRateMilli);
    out[k++] = Check::not_applicable(check::kPixelsPerLine, CheckRule::kEqual, kRawWidth);
    out[k++] = Check::not_applicable(check::kLinesPerFrame, CheckRule::kEqual, kRawHeight);
    out[k++] = Check::not_applicable(check::kExposureConverged, CheckRule::kEqual, 1);
    out[k++] = Check::not_applicable(check::kExposureMean, CheckRule::kWithin, kExposureTarget, kExposureTolerance);
    return k;
  }
  uint16_t id = 0;
  out[k++] = platform_.camera_model_id(&id) ? Check::judged(check::kSensorId, CheckRule::kEqual, id, kSensorModelId)
                                            : Check::failed(check::kSensorId, CheckRule::kEqual, kSensorModelId);
  uint32_t mismatches[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  uint32_t pixels = 0;
  const bool pattern = platform_.camera_walking_ones(kWalkingOnesFrames, mismatches, &pixels);
  out[k++] = Check::judged(check::kPatternPixels, CheckRule::kAtLeast, pattern ? pixels : 0, kRawFrameBytes);
  for (uint8_t b = 0; b < 8; ++b) {
    out[k++] = pattern ? Check::judged(check::kDataD0 + b, CheckRule::kEqual, mismatches[b], 0)
                       : Check::failed(check::kDataD0 + b, CheckRule::kEqual, 0);
  }
  FrameTiming timing;
  if (!platform_.camera_frame_timing(&timing)) timing = FrameTiming();
  out[k++] = Check::judged(check::kFrameRate, CheckRule::kAtLeast, timing.fps_milli, kMinFrameRateMilli);
  out[k++] = Check::judged(check::kPixelsPerLine, CheckRule::kEqual, timing.pixels_per_line, kRawWidth);
  out[k++] = Check::judged(check::kLinesPerFrame, CheckRule::kEqual, timing.lines_per_frame, kRawHeight);
  Exposure exposure;
  if (platform_.camera_exposure(&exposure)) {
    out[k++] = Check::judged(check::kExposureConverged, CheckRule::kEqual, exposure.converged ? 1 : 0, 1);
    out[k++] =
        Check::judged(check::kExposureMean, CheckRule::kWithin, exposure.mean, kExposureTarget, kExposureTolerance);
  } else {
    out[k++] = Check::failed(check::kExposureConverged, CheckRule::kEqual, 1);
    out[k++] = Check::failed(check::kExposureMean, CheckRule::kWithin, kExposureTarget, kExposureTolerance);
  }
  return k;
}

size_t CommandLoop::board_checks(Check* out) {
  size_t k = 0;
  const uint32_t nominal = platform_.clock_hz();
  uint32_t hz = 0;
  out[k++] = platform_.measured_clock_hz(&hz)
                 ? Check::judged(check::kCoreClock, CheckRule::kWithin, hz, nominal, nominal / 50)
                 : Check::not_applicable(check::kCoreClock, CheckRule::kWithin, nominal, nominal / 50);
  out[k++] = classifier_.ready()
                 ? Check::judged(check::kArena, CheckRule::kAtMost, classifier_.arena_used(), classifier_.arena_size())
                 : Check::failed(check::kArena, CheckRule::kAtMost, classifier_.arena_size());
  uint32_t used = 0, reserved = 0;
  if (platform_.stack_usage(&used, &reserved) && reserved > kStackHeadroom) {
    out[k++] = Check::judged(check::kStack, CheckRule::kAtMost, used, reserved - kStackHeadroom);
  } else {
    out[k++] = Check::not_applicable(check::kStack, CheckRule::kAtMost, 0);
  }
  out[k++] = Check::not_applicable(check::kHeap, CheckRule::kAtMost, 0);  // the firmware allocates nothing
  uint32_t input_crc = 0;
  const int8_t* expected = nullptr;
  const size_t outputs = classifier_.output().element_count();
  if (!classifier_.selftest_vector(&input_crc, &expected)) {
    out[k++] = Check::not_applicable(check::kModelOutput, CheckRule::kEqual, 0);
    return k;
  }
  int8_t* model_input = classifier_.input_data();
  uint32_t wrong = static_cast<uint32_t>(outputs);  // the model did not run: no output value is right
  if (classifier_.ready() && model_input != nullptr) {
    const size_t n = classifier_.input().element_count();
    fill_selftest_input(model_input, n);
    // An input other than codegen's (a formula changed on one side) would make the comparison meaningless.
    if (crc32(reinterpret_cast<const uint8_t*>(model_input), n) == input_crc && classifier_.invoke()) {
      const int8_t* got = classifier_.output_data();
      wrong = 0;
      for (size_t i = 0; i < outputs; ++i) wrong += got[i] != expected[i];
    }
  }
  out[k++] = Check::judged(check::kModelOutput, CheckRule::kEqual, wrong, 0);
  return k;
}

void CommandLoop::send_info(uint16_t seq) {
  InfoMessage info;
  info.kernels = classifier_.kernels();
  info.capabilities = 0;
  if (platform_.camera_available()) info.capabilities |= kCapCamera;
  if (platform_.instruction_count() != 0) info.capabilities |= kCapInstructionCount;
  if (decoder_.accept_limit() >= kRawSetFramePayload) info.capabilities |= kCapSetFrame;
  if (staging_ != nullptr) info.capabilities |= kCapStaged;
  info.pipeline_mode = static_cast<uint8_t>(mode_);
  info.firmware_version = VWW_FIRMWARE_VERSION;
  info.clock_hz = platform_.clock_hz();
  info.arena_size = classifier_.arena_size();
  info.arena_used = classifier_.arena_used();
  info.max_rx_payload = decoder_.accept_limit();
  std::memcpy(info.model_sha256, classifier_.model_sha256(), 32);
  info.input = classifier_.input();
  info.output = classifier_.output();
  info.board = platform_.name();
  info.firmware_name = VWW_FIRMWARE_NAME;
  info.label_count = classifier_.label_count() < kMaxLabels ? classifier_.label_count() : kMaxLabels;
  for (size_t i = 0; i < info.label_count; ++i) info.labels[i] = classifier_.label(i);
  uint8_t buf[kInfoBufferSize];
  size_t n = encode_info(info, buf, sizeof buf);
  if (n == 0) {  // labels too long for the buffer: still tell the host who we are
    info.label_count = 0;
    n = encode_info(info, buf, sizeof buf);
  }
  write_frame(transport_, msg::kInfo, seq, buf, n);
}

void CommandLoop::send_ack(uint16_t seq, uint8_t type) { write_frame(transport_, msg::kAck, seq, &type, 1); }

void CommandLoop::send_error(uint16_t seq, ErrorCode code, uint8_t request_type, const char* text) {
  ++errors_sent_;
  uint8_t buf[128];
  const size_t n = encode_error(code, request_type, text, buf, sizeof buf);
  write_frame(transport_, msg::kError, seq, buf, n);
}

}  // namespace vww
