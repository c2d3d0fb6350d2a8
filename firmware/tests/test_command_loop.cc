// CommandLoop with a fake transport, board and classifier: docs/protocol.md section 4 behaviour.
#include <algorithm>
#include <memory>
#include <random>

#include "bytes.h"
#include "command_loop.h"
#include "crc.h"
#include "fakes.h"
#include "harness.h"
#include "messages.h"
#include "pipeline.h"

using namespace vwwtest;

namespace {

struct Reply {
  uint8_t type;
  uint16_t seq;
  Bytes payload;
  uint16_t error_code() const { return vww::get_u16(payload.data()); }
};

Bytes frame(uint8_t type, uint16_t seq, const Bytes& payload) {
  Bytes f(payload.size() + vww::kFrameOverhead);
  f.resize(vww::encode_frame(type, seq, payload.data(), payload.size(), f.data(), f.size()));
  return f;
}

Bytes image(uint16_t w, uint16_t h, uint8_t c, uint8_t dtype, uint8_t kind, const Bytes& pixels) {
  Bytes p(8);
  vww::ImageHeader hd;
  hd.width = w;
  hd.height = h;
  hd.channels = c;
  hd.dtype = dtype;
  hd.kind = kind;
  vww::encode_image_header(hd, p.data());
  p.insert(p.end(), pixels.begin(), pixels.end());
  return p;
}

Bytes infer_payload(const Bytes& pixels, uint8_t channels = 1) {
  return image(96, 96, channels, vww::kDtypeInt8, vww::kKindModelInput, pixels);
}

Bytes ramp(size_t n) {
  Bytes b(n);
  for (size_t i = 0; i < n; ++i) b[i] = static_cast<uint8_t>(i * 7 + 3);
  return b;
}

struct Rig {
  FakeTransport t;
  FakePlatform p;
  FakeClassifier c;
  Bytes rx;
  Bytes raw = Bytes(vww::kRawFrameBytes);
  Bytes staging;
  std::unique_ptr<vww::CommandLoop> loop;

  explicit Rig(uint32_t max_rx = 80000, int channels = 1, size_t staging_size = vww::kStagingMinBytes)
      : c(channels), rx(max_rx + vww::kFrameOverhead), staging(staging_size) {
    loop.reset(new vww::CommandLoop(t, c, p, rx.data(), rx.size(), raw.data(), staging_size ? staging.data() : nullptr,
                                    staging_size));
  }
  void send(uint8_t type, uint16_t seq, const Bytes& payload = {}) { t.push(frame(type, seq, payload)); }
  // Polls until every queued byte has been read and one more poll changed nothing.
  void run(int extra_polls = 1) {
    int guard = 0;
    while (!t.incoming.empty() && ++guard < 1000000) loop->poll();
    REQUIRE(t.incoming.empty());
    for (int i = 0; i < extra_polls; ++i) loop->poll();
  }
  // Every frame the device sent since the last call; the byte stream must be nothing but valid frames.
  std::vector<Reply> replies() {
    std::vector<Reply> out;
    Bytes buf(vww::kMaxPayload + vww::kFrameOverhead);
    vww::FrameDecoder dec(buf.data(), buf.size(), vww::kMaxPayload);
    const uint8_t* q = t.sent.data();
    size_t n = t.sent.size();
    while (n) {
      const size_t k = dec.feed(q, n);
      q += k;
      n -= k;
      for (auto ev = dec.poll(); ev.kind != vww::DecoderEvent::kNone; ev = dec.poll()) {
        CHECK(ev.kind == vww::DecoderEvent::kFrame);
        if (ev.kind == vww::DecoderEvent::kFrame) {
          out.push_back({ev.header.type, ev.header.seq, Bytes(ev.payload, ev.payload + ev.header.length)});
        }
      }
    }
    CHECK_EQ(dec.pending(), 0u);
    CHECK_EQ(dec.garbage_bytes(), 0u);
    t.sent.clear();
    return out;
  }
  Reply only_reply() {
    auto r = replies();
    REQUIRE(r.size() == 1);
    return r[0];
  }
};

void check_error(const Reply& r, uint16_t seq, vww::ErrorCode code, uint8_t request_type) {
  CHECK_EQ(r.type, vww::msg::kError);
  CHECK_EQ(r.seq, seq);
  REQUIRE(r.payload.size() >= 3);
  CHECK_EQ(r.error_code(), static_cast<uint16_t>(code));
  CHECK_EQ(r.payload[2], request_type);
}

vww::InfoMessage parse_info(const Reply& r, char* storage, size_t cap) {
  CHECK_EQ(r.type, vww::msg::kInfo);
  vww::InfoMessage info;
  REQUIRE(vww::decode_info(r.payload.data(), r.payload.size(), &info, storage, cap));
  return info;
}

}  // namespace

TEST(loop_boot_info_fields) {
  Rig rig;
  rig.p.instructions_per_call = 5;
  rig.loop->boot();
  const Reply r = rig.only_reply();
  CHECK_EQ(r.seq, 0);  // the device's own counter starts at 0
  char s[1024];
  const vww::InfoMessage info = parse_info(r, s, sizeof s);
  CHECK_EQ(info.protocol_version, 1);
  CHECK_EQ(info.kernels, vww::kKernelsReference);
  CHECK_EQ(info.capabilities, vww::kCapSetFrame | vww::kCapInstructionCount | vww::kCapStaged);  // no camera
  CHECK_EQ(info.pipeline_mode, 0);
  CHECK_EQ(info.firmware_version, 0x000100u);
  CHECK_EQ(info.clock_hz, 48000000u);
  CHECK_EQ(info.arena_size, 90112u);
  CHECK_EQ(info.arena_used, 82292u);
  CHECK_EQ(info.max_rx_payload, 80000u);
  CHECK_EQ(info.model_sha256[0], 0xA0);
  CHECK_EQ(info.model_sha256[31], 0xA0 + 31);
  CHECK_EQ(info.input.rank, 4);
  CHECK_EQ(info.input.dims[1], 96);
  CHECK_EQ(info.input.dims[3], 1);
  CHECK_EQ(info.input.zero_point, -1);
  CHECK(info.input.scale == 2.0f / 255.0f);
  CHECK_EQ(info.output.dims[1], 2);
  CHECK_EQ(info.output.zero_point, -128);
  CHECK(std::string(info.board) == "fake_board");
  CHECK(std::string(info.firmware_name) == "vwwdeploy");
  REQUIRE(info.label_count == 2);
  CHECK(std::string(info.labels[1]) == "person");
}

TEST(loop_hello_byte_by_byte_answers_info_with_request_seq) {
  Rig rig;
  rig.p.has_camera = true;
  rig.t.max_per_read = 1;
  rig.send(vww::msg::kHello, 4242);
  rig.run();
  const Reply r = rig.only_reply();
  CHECK_EQ(r.seq, 4242);
  char s[1024];
  const vww::InfoMessage info = parse_info(r, s, sizeof s);
  // instruction_count() == 0: no counting
  CHECK_EQ(info.capabilities, vww::kCapCamera | vww::kCapSetFrame | vww::kCapStaged);
}

TEST(loop_hello_ignores_payload) {
  Rig rig;
  rig.send(vww::msg::kHello, 1, Bytes{1, 2, 3});
  rig.run();
  CHECK_EQ(rig.only_reply().type, vww::msg::kInfo);
}

TEST(loop_infer_returns_result_from_classifier) {
  Rig rig;
  rig.p.tick_us = 10;
  rig.p.instructions_per_call = 1000;
  Bytes px(96 * 96, 0x50);  // int8 80
  rig.send(vww::msg::kInfer, 7, infer_payload(px));
  rig.run();
  const Reply r = rig.only_reply();
  CHECK_EQ(r.type, vww::msg::kResult);
  CHECK_EQ(r.seq, 7);
  REQUIRE(r.payload.size() == vww::kResultHeaderSize + 2);
  CHECK_EQ(vww::get_u32(r.payload.data()), 10u);        // one micros() tick between start and end
  CHECK_EQ(vww::get_u64(r.payload.data() + 4), 1000u);  // instruction_count() delta
  CHECK_EQ(vww::get_u16(r.payload.data() + 12), 2);
  CHECK_EQ(static_cast<int8_t>(r.payload[14]), -80);
  CHECK_EQ(static_cast<int8_t>(r.payload[15]), 80);
  REQUIRE(rig.c.last_input.size() == px.size());
  CHECK(std::memcmp(rig.c.last_input.data(), px.data(), px.size()) == 0);
  CHECK(rig.p.leds[static_cast<int>(vww::LedId::kPerson)]);
  CHECK(!rig.p.leds[static_cast<int>(vww::LedId::kNoPerson)]);
}

TEST(loop_infer_without_instruction_counter_reports_zero) {
  Rig rig;
  rig.send(vww::msg::kInfer, 1, infer_payload(Bytes(96 * 96, 0xF0)));
  rig.run();
  const Reply r = rig.only_reply();
  REQUIRE(r.type == vww::msg::kResult);
  CHECK_EQ(vww::get_u64(r.payload.data() + 4), 0u);
  CHECK(rig.p.leds[static_cast<int>(vww::LedId::kNoPerson)]);
}

TEST(loop_infer_bad_shapes_and_payloads) {
  Rig rig;
  struct Case {
    Bytes payload;
    vww::ErrorCode code;
  };
  const Case cases[] = {
      {Bytes{}, vww::ErrorCode::kBadPayload},
      {Bytes(5, 0), vww::ErrorCode::kBadPayload},
      {image(96, 96, 1, vww::kDtypeInt8, 0, Bytes(100)), vww::ErrorCode::kBadPayload},  // too few pixels
      {image(96, 96, 1, vww::kDtypeInt8, 0, Bytes(96 * 96 + 1)), vww::ErrorCode::kBadPayload},
      {image(96, 96, 3, vww::kDtypeInt8, 0, Bytes(96 * 96 * 3)), vww::ErrorCode::kBadShape},
      {image(64, 64, 1, vww::kDtypeInt8, 0, Bytes(64 * 64)), vww::ErrorCode::kBadShape},
      {image(96, 96, 1, vww::kDtypeUint8, 0, Bytes(96 * 96)), vww::ErrorCode::kBadShape},
      {image(96, 96, 1, vww::kDtypeInt8, 1, Bytes(96 * 96)), vww::ErrorCode::kBadShape},
  };
  uint16_t seq = 100;
  for (const auto& c : cases) {
    rig.send(vww::msg::kInfer, seq, c.payload);
    rig.run();
    check_error(rig.only_reply(), seq, c.code, vww::msg::kInfer);
    ++seq;
  }
  CHECK_EQ(rig.c.invokes, 0);
  // Still answering normally afterwards.
  rig.send(vww::msg::kInfer, seq, infer_payload(Bytes(96 * 96)));
  rig.run();
  CHECK_EQ(rig.only_reply().type, vww::msg::kResult);
}

TEST(loop_three_channel_model_takes_rgb_infer) {
  Rig rig(80000, 3);
  rig.send(vww::msg::kInfer, 1, infer_payload(ramp(96 * 96 * 3), 3));
  rig.run();
  CHECK_EQ(rig.only_reply().type, vww::msg::kResult);
}

TEST(loop_too_large_answered_and_skipped) {
  Rig rig(vww::kMinDeviceRxPayload);  // smallest device: no room for a raw SET_FRAME
  char s[1024];
  rig.send(vww::msg::kHello, 1);
  rig.run();
  CHECK_EQ(parse_info(rig.only_reply(), s, sizeof s).capabilities & vww::kCapSetFrame, 0);
  rig.send(vww::msg::kSetFrame, 2, image(324, 244, 1, vww::kDtypeUint8, 1, Bytes(vww::kRawFrameBytes, 0x56)));
  rig.send(vww::msg::kHello, 3);
  rig.t.max_per_read = 1000;
  rig.run();
  const auto r = rig.replies();
  REQUIRE(r.size() == 2);
  check_error(r[0], 2, vww::ErrorCode::kTooLarge, vww::msg::kSetFrame);
  CHECK_EQ(r[1].type, vww::msg::kInfo);
  CHECK_EQ(r[1].seq, 3);
}

TEST(loop_unknown_types) {
  Rig rig;
  for (uint8_t type : {uint8_t(0x00), uint8_t(0x0B), uint8_t(0x3F), uint8_t(0x81), uint8_t(0xFF)}) {
    rig.send(type, 0x1000 + type, Bytes{1});
    rig.run();
    check_error(rig.only_reply(), 0x1000 + type, vww::ErrorCode::kUnknownType, type);
  }
}

TEST(loop_bad_crc_answered_with_seq_then_retry_works) {
  Rig rig;
  Bytes f = frame(vww::msg::kInfer, 77, infer_payload(ramp(96 * 96)));
  f[500] ^= 0x10;  // payload corrupted on the wire
  rig.t.push(f);
  rig.t.max_per_read = 64;
  rig.run();
  auto r = rig.replies();
  REQUIRE(!r.empty());
  check_error(r[0], 77, vww::ErrorCode::kBadCrc, vww::msg::kInfer);
  // After the inter-byte timeout the rescanned remains are dropped; the resend is answered.
  rig.p.now_us += 200000;
  rig.loop->poll();
  rig.replies();
  rig.send(vww::msg::kInfer, 77, infer_payload(ramp(96 * 96)));
  rig.run();
  const Reply ok = rig.only_reply();
  CHECK_EQ(ok.type, vww::msg::kResult);
  CHECK_EQ(ok.seq, 77);
}

TEST(loop_partial_frame_dropped_after_interbyte_timeout) {
  Rig rig;
  const Bytes f = frame(vww::msg::kInfer, 5, infer_payload(Bytes(96 * 96)));
  rig.t.push(Bytes(f.begin(), f.begin() + 3000));  // host died mid-frame
  rig.run();
  CHECK(rig.replies().empty());
  CHECK(rig.loop->decoder().pending() > 0);
  rig.p.now_us += 50000;  // shorter than the timeout: still waiting
  rig.loop->poll();
  CHECK(rig.loop->decoder().pending() > 0);
  rig.p.now_us += 60000;
  rig.loop->poll();
  CHECK_EQ(rig.loop->decoder().pending(), 0u);
  check_error(rig.only_reply(), 5, vww::ErrorCode::kBadCrc, vww::msg::kInfer);  // resend at once
  rig.send(vww::msg::kHello, 6);
  rig.run();
  const Reply r = rig.only_reply();
  CHECK_EQ(r.type, vww::msg::kInfo);
  CHECK_EQ(r.seq, 6);
}

// The RGB MLPerf model on QEMU: the emulated UART pauses for more than 100 ms mid-request on a loaded host, and
// a 100 ms board dropped those requests as cut short (BAD_CRC). A board that says it needs longer waits.
TEST(loop_board_inter_byte_timeout_outlasts_an_emulator_pause) {
  Rig rig(80000, 3);
  rig.p.inter_byte_us = 2000000;
  const Bytes f = frame(vww::msg::kInfer, 5, infer_payload(Bytes(96 * 96 * 3), 3));
  rig.t.push(Bytes(f.begin(), f.begin() + 3000));
  rig.run();
  rig.p.now_us += 150000;  // past the default 100 ms, the bytes still on their way
  rig.loop->poll();
  CHECK(rig.replies().empty());
  rig.t.push(Bytes(f.begin() + 3000, f.end()));
  rig.run();
  const Reply r = rig.only_reply();
  CHECK_EQ(r.type, vww::msg::kResult);
  CHECK_EQ(r.seq, 5);
  // A host that really stopped is still given up on, after the board's own timeout.
  rig.t.push(Bytes(f.begin(), f.begin() + 3000));
  rig.run();
  rig.p.now_us += 1999000;
  rig.loop->poll();
  CHECK(rig.loop->decoder().pending() > 0);
  rig.p.now_us += 2000;
  rig.loop->poll();
  CHECK_EQ(rig.loop->decoder().pending(), 0u);
  check_error(rig.only_reply(), 5, vww::ErrorCode::kBadCrc, vww::msg::kInfer);
}

TEST(loop_capture_without_camera_uses_test_pattern) {
  Rig rig;
  rig.send(vww::msg::kCapture, 9, Bytes{vww::kFlagRaw});
  rig.run();
  const auto r = rig.replies();
  REQUIRE(r.size() == 3);
  Bytes pattern(vww::kRawFrameBytes);
  vww::fill_test_pattern(pattern.data());
  Bytes expect(vww::kPipelinePixels);
  vww::crop_decimate(pattern.data(), expect.data());
  // FRAME kind 0: the model input as uint8 pixels.
  CHECK_EQ(r[0].type, vww::msg::kFrame);
  CHECK_EQ(r[0].seq, 9);
  CHECK(r[0].payload == image(96, 96, 1, vww::kDtypeUint8, vww::kKindModelInput, expect));
  // FRAME kind 1: the raw frame.
  CHECK_EQ(r[1].type, vww::msg::kFrame);
  CHECK(r[1].payload == image(324, 244, 1, vww::kDtypeUint8, vww::kKindRawFrame, pattern));
  CHECK_EQ(r[2].type, vww::msg::kResult);
  CHECK_EQ(r[2].seq, 9);
  // The classifier saw pixel - 128 of the same crop.
  REQUIRE(rig.c.last_input.size() == expect.size());
  bool same = true;
  for (size_t i = 0; i < expect.size(); ++i) same &= rig.c.last_input[i] == static_cast<int8_t>(expect[i] - 128);
  CHECK(same);
}

TEST(loop_capture_uses_set_frame_and_pipeline_mode) {
  Rig rig;
  const Bytes raw = ramp(vww::kRawFrameBytes);
  rig.send(vww::msg::kSetFrame, 1, image(324, 244, 1, vww::kDtypeUint8, vww::kKindRawFrame, raw));
  rig.send(vww::msg::kSetPipeline, 2, Bytes{1});
  rig.send(vww::msg::kCapture, 3, Bytes{vww::kFlagNoInfer});
  rig.t.max_per_read = 333;
  rig.run();
  auto r = rig.replies();
  REQUIRE(r.size() == 3);
  CHECK(r[0].type == vww::msg::kAck && r[0].seq == 1 && r[0].payload == Bytes{vww::msg::kSetFrame});
  CHECK(r[1].type == vww::msg::kAck && r[1].seq == 2 && r[1].payload == Bytes{vww::msg::kSetPipeline});
  Bytes expect(vww::kPipelinePixels);
  vww::crop_box_average(raw.data(), expect.data());
  CHECK_EQ(r[2].type, vww::msg::kFrame);
  CHECK(r[2].payload == image(96, 96, 1, vww::kDtypeUint8, 0, expect));
  CHECK_EQ(rig.c.invokes, 0);  // flag bit 1: no inference
  CHECK(rig.loop->pipeline_mode() == vww::PipelineMode::kBoxAverage);
  char s[1024];
  rig.send(vww::msg::kHello, 4);
  rig.run();
  CHECK_EQ(parse_info(rig.only_reply(), s, sizeof s).pipeline_mode, 1);
}

TEST(loop_set_frame_and_pipeline_reject_bad_input) {
  Rig rig;
  rig.send(vww::msg::kSetFrame, 1, image(320, 240, 1, vww::kDtypeUint8, 1, Bytes(320 * 240)));
  rig.send(vww::msg::kSetFrame, 2, image(324, 244, 1, vww::kDtypeUint8, 1, Bytes(10)));
  rig.send(vww::msg::kSetFrame, 3, image(324, 244, 1, vww::kDtypeInt8, 1, Bytes(vww::kRawFrameBytes)));
  rig.send(vww::msg::kSetPipeline, 4, Bytes{2});
  rig.send(vww::msg::kSetPipeline, 5, Bytes{});
  rig.send(vww::msg::kCapture, 6, Bytes{});
  rig.send(vww::msg::kCapture, 7, Bytes{0x04});
  rig.send(vww::msg::kStreamStart, 8, Bytes{0, 0, 0});
  rig.run();
  const auto r = rig.replies();
  REQUIRE(r.size() == 8);
  check_error(r[0], 1, vww::ErrorCode::kBadShape, vww::msg::kSetFrame);
  check_error(r[1], 2, vww::ErrorCode::kBadPayload, vww::msg::kSetFrame);
  check_error(r[2], 3, vww::ErrorCode::kBadShape, vww::msg::kSetFrame);
  check_error(r[3], 4, vww::ErrorCode::kBadPayload, vww::msg::kSetPipeline);
  check_error(r[4], 5, vww::ErrorCode::kBadPayload, vww::msg::kSetPipeline);
  check_error(r[5], 6, vww::ErrorCode::kBadPayload, vww::msg::kCapture);
  check_error(r[6], 7, vww::ErrorCode::kBadPayload, vww::msg::kCapture);
  check_error(r[7], 8, vww::ErrorCode::kBadPayload, vww::msg::kStreamStart);
  CHECK(!rig.loop->streaming());
}

TEST(loop_capture_with_camera) {
  Rig rig;
  rig.p.has_camera = true;
  rig.p.camera_frame = ramp(vww::kRawFrameBytes);
  rig.send(vww::msg::kCapture, 1, Bytes{0});
  rig.run();
  auto r = rig.replies();
  REQUIRE(r.size() == 2);
  Bytes expect(vww::kPipelinePixels);
  vww::crop_decimate(rig.p.camera_frame.data(), expect.data());
  CHECK(r[0].payload == image(96, 96, 1, vww::kDtypeUint8, 0, expect));
  CHECK_EQ(r[1].type, vww::msg::kResult);
  CHECK_EQ(rig.p.captures, 1);
  rig.p.camera_ok = false;
  rig.send(vww::msg::kCapture, 2, Bytes{0});
  rig.run();
  check_error(rig.only_reply(), 2, vww::ErrorCode::kCameraFailed, vww::msg::kCapture);
  CHECK(rig.p.leds[static_cast<int>(vww::LedId::kError)]);
}

TEST(loop_inference_failures) {
  Rig rig;
  rig.c.fail_invoke = true;
  rig.send(vww::msg::kInfer, 1, infer_payload(Bytes(96 * 96)));
  rig.run();
  check_error(rig.only_reply(), 1, vww::ErrorCode::kInferenceFailed, vww::msg::kInfer);
  CHECK(rig.p.leds[static_cast<int>(vww::LedId::kError)]);
  rig.c.fail_invoke = false;
  rig.c.is_ready = false;  // model never initialised: INFO still answered, inference refused
  rig.send(vww::msg::kInfer, 2, infer_payload(Bytes(96 * 96)));
  rig.send(vww::msg::kCapture, 3, Bytes{0});
  rig.send(vww::msg::kHello, 4);
  rig.run();
  const auto r = rig.replies();
  REQUIRE(r.size() == 3);
  check_error(r[0], 2, vww::ErrorCode::kInferenceFailed, vww::msg::kInfer);
  check_error(r[1], 3, vww::ErrorCode::kInferenceFailed, vww::msg::kCapture);
  CHECK(std::string(r[1].payload.begin() + 3, r[1].payload.end()) == "fake model broken");
  CHECK_EQ(r[2].type, vww::msg::kInfo);
}

TEST(loop_boot_logs_why_the_model_is_not_ready) {
  Rig rig;
  rig.c.is_ready = false;
  rig.loop->boot();
  const auto r = rig.replies();
  REQUIRE(r.size() == 2);
  CHECK(r[0].type == vww::msg::kInfo && r[0].seq == 0);
  CHECK(r[1].type == vww::msg::kLog && r[1].seq == 1);
  CHECK_EQ(r[1].payload[0], 3);  // error level
  CHECK(std::string(r[1].payload.begin() + 1, r[1].payload.end()) == "model not initialised: fake model broken");
}

TEST(loop_stream_count_groups_share_device_seq) {
  Rig rig;
  rig.loop->boot();  // device seq 0 used by the boot INFO
  rig.replies();
  Bytes start(8);
  vww::encode_stream_start({vww::kFlagRaw, 0, 3}, start.data());
  rig.send(vww::msg::kStreamStart, 50, start);
  rig.run(10);
  const auto r = rig.replies();
  REQUIRE(r.size() == 1 + 3 * 3);
  CHECK(r[0].type == vww::msg::kAck && r[0].seq == 50 && r[0].payload == Bytes{vww::msg::kStreamStart});
  for (int g = 0; g < 3; ++g) {
    const uint16_t seq = static_cast<uint16_t>(1 + g);
    CHECK(r[1 + 3 * g].type == vww::msg::kFrame && r[1 + 3 * g].seq == seq);
    CHECK(r[2 + 3 * g].type == vww::msg::kFrame && r[2 + 3 * g].seq == seq && r[2 + 3 * g].payload[6] == 1);
    CHECK(r[3 + 3 * g].type == vww::msg::kResult && r[3 + 3 * g].seq == seq);
  }
  CHECK(!rig.loop->streaming());
}

TEST(loop_stream_until_stop_busy_and_hello) {
  Rig rig;
  Bytes start(8);
  vww::encode_stream_start({vww::kFlagNoInfer, 0, 0}, start.data());
  rig.send(vww::msg::kStreamStart, 1, start);
  rig.run(4);
  auto r = rig.replies();
  REQUIRE(r.size() == 1 + 5);  // ACK, then one FRAME per poll (the poll that read the request, and 4 more)
  for (size_t i = 1; i < r.size(); ++i) CHECK(r[i].type == vww::msg::kFrame && r[i].seq == i - 1);
  CHECK(rig.loop->streaming());
  rig.send(vww::msg::kInfer, 2, infer_payload(Bytes(96 * 96)));
  rig.send(vww::msg::kHello, 3);
  rig.send(vww::msg::kStreamStart, 4, start);
  rig.run(0);
  // Stream groups keep coming while the requests arrive (one per poll); the answers come in request order.
  std::vector<Reply> answers;
  for (const auto& x : rig.replies()) {
    if (x.type != vww::msg::kFrame) answers.push_back(x);
  }
  REQUIRE(answers.size() == 3);
  check_error(answers[0], 2, vww::ErrorCode::kBusy, vww::msg::kInfer);
  CHECK(answers[1].type == vww::msg::kInfo && answers[1].seq == 3);
  check_error(answers[2], 4, vww::ErrorCode::kBusy, vww::msg::kStreamStart);
  rig.send(vww::msg::kStreamStop, 5);
  rig.run(0);
  r = rig.replies();
  REQUIRE(!r.empty());
  CHECK(r.back().type == vww::msg::kAck && r.back().seq == 5 && r.back().payload == Bytes{vww::msg::kStreamStop});
  CHECK(!rig.loop->streaming());
  for (int i = 0; i < 5; ++i) rig.loop->poll();
  CHECK(rig.replies().empty());
  // STREAM_STOP when idle is simply acknowledged.
  rig.send(vww::msg::kStreamStop, 6);
  rig.run();
  CHECK_EQ(rig.only_reply().type, vww::msg::kAck);
}

TEST(loop_stream_max_fps_paces_groups) {
  Rig rig;
  Bytes start(8);
  vww::encode_stream_start({vww::kFlagNoInfer, 10, 0}, start.data());  // 10 fps: one group per 100 ms
  rig.send(vww::msg::kStreamStart, 1, start);
  rig.run(0);
  CHECK_EQ(rig.replies().size(), 2u);  // ACK + the first group at once
  for (int i = 0; i < 10; ++i) rig.loop->poll();
  CHECK(rig.replies().empty());  // no time passed
  rig.p.now_us += 99999;
  rig.loop->poll();
  CHECK(rig.replies().empty());
  rig.p.now_us += 1;
  rig.loop->poll();
  rig.loop->poll();
  CHECK_EQ(rig.replies().size(), 1u);
}

TEST(loop_stream_camera_failure_stops_stream_with_error) {
  Rig rig;
  rig.p.has_camera = true;
  rig.p.camera_ok = false;
  Bytes start(8);
  vww::encode_stream_start({0, 0, 0}, start.data());
  rig.send(vww::msg::kStreamStart, 1, start);
  rig.run(3);
  const auto r = rig.replies();
  REQUIRE(r.size() == 2);
  CHECK_EQ(r[0].type, vww::msg::kAck);
  check_error(r[1], 0, vww::ErrorCode::kCameraFailed, vww::msg::kStreamStart);
  CHECK(!rig.loop->streaming());
}

TEST(loop_pipelined_requests_answered_in_order) {
  Rig rig;
  rig.send(vww::msg::kInfer, 10, infer_payload(Bytes(96 * 96, 1)));
  rig.send(vww::msg::kInfer, 11, infer_payload(Bytes(96 * 96, 2)));
  rig.t.max_per_read = 1 << 20;
  rig.run();
  const auto r = rig.replies();
  REQUIRE(r.size() == 2);
  CHECK(r[0].type == vww::msg::kResult && r[0].seq == 10);
  CHECK(r[1].type == vww::msg::kResult && r[1].seq == 11);
}

TEST(loop_never_hangs_on_garbage) {
  // Random noise, corrupt and truncated frames, each followed by a quiet gap (inter-byte timeout) and a
  // HELLO: every HELLO must be answered, whatever came before it.
  Rig rig;
  std::mt19937 rng(99);
  int hellos = 0;
  for (int round = 0; round < 60; ++round) {
    Bytes junk;
    const int kind = round % 4;
    if (kind == 0) {
      junk.resize(rng() % 2000);
      for (auto& b : junk) b = static_cast<uint8_t>(rng() % 5 == 0 ? 0x56 + rng() % 2 : rng());
    } else {
      Bytes f = frame(static_cast<uint8_t>(rng() % 10), static_cast<uint16_t>(rng()), ramp(rng() % 3000));
      if (kind == 1) f[rng() % f.size()] ^= 0xFF;
      if (kind == 2) f.resize(rng() % f.size());
      junk = f;
    }
    rig.t.max_per_read = 1 + rng() % 512;
    rig.t.push(junk);
    rig.run();
    rig.p.now_us += 150000;
    rig.loop->poll();
    rig.replies();
    const uint16_t seq = static_cast<uint16_t>(60000 + round);
    rig.send(vww::msg::kHello, seq);
    rig.run();
    const auto r = rig.replies();
    bool answered = false;
    for (const auto& x : r) answered |= x.type == vww::msg::kInfo && x.seq == seq;
    CHECK_MSG(answered, "round " + std::to_string(round));
    hellos += answered;
  }
  CHECK_EQ(hellos, 60);
}

TEST(loop_stream_time_does_not_expire_a_partial_request) {
  // Each stream group takes long (a 0.5 s capture); the host's STREAM_STOP arrives in two halves with
  // groups in between. The time spent on the groups must not count as line silence.
  Rig rig;
  rig.p.has_camera = true;
  rig.p.capture_us = 500000;
  Bytes start(8);
  vww::encode_stream_start({vww::kFlagNoInfer, 0, 0}, start.data());
  rig.send(vww::msg::kStreamStart, 1, start);
  rig.run(0);
  rig.replies();
  const Bytes stop = frame(vww::msg::kStreamStop, 2, {});
  rig.t.push(Bytes(stop.begin(), stop.begin() + 7));
  rig.loop->poll();  // reads the first half, then sends a group
  rig.loop->poll();  // nothing to read, another group
  rig.t.push(Bytes(stop.begin() + 7, stop.end()));
  rig.loop->poll();
  bool acked = false;
  for (const auto& r : rig.replies()) acked |= r.type == vww::msg::kAck && r.seq == 2;
  CHECK(acked);
  CHECK(!rig.loop->streaming());
}

namespace {

Bytes stage_payload(uint32_t offset, const Bytes& data) {
  Bytes p(4);
  vww::put_u32(p.data(), offset);
  p.insert(p.end(), data.begin(), data.end());
  return p;
}

Bytes infer_staged_payload(uint16_t w, uint16_t h, uint8_t c, uint8_t dtype, uint8_t kind, uint32_t crc) {
  Bytes p = image(w, h, c, dtype, kind, {});
  p.resize(12);
  vww::put_u32(p.data() + 8, crc);
  return p;
}

}  // namespace

TEST(loop_staged_transfer_gives_the_same_result_as_infer) {
  Rig rig;
  const Bytes px = ramp(96 * 96);
  rig.send(vww::msg::kInfer, 1, infer_payload(px));
  rig.run();
  const Reply direct = rig.only_reply();
  REQUIRE(direct.type == vww::msg::kResult);
  // Stage in 256-byte chunks, out of order, one chunk twice (a retry after a lost ACK).
  uint16_t seq = 10;
  std::vector<uint32_t> offsets;
  for (uint32_t off = 0; off < px.size(); off += 256) offsets.push_back(off);
  std::reverse(offsets.begin(), offsets.end());
  offsets.push_back(512);
  for (uint32_t off : offsets) {
    const Bytes chunk(px.begin() + off, px.begin() + std::min<size_t>(off + 256, px.size()));
    rig.send(vww::msg::kStage, seq, stage_payload(off, chunk));
    rig.run();
    const Reply ack = rig.only_reply();
    CHECK(ack.type == vww::msg::kAck && ack.seq == seq && ack.payload == Bytes{vww::msg::kStage});
    ++seq;
  }
  rig.send(vww::msg::kInferStaged, 99, infer_staged_payload(96, 96, 1, 1, 0, vww::crc32(px.data(), px.size())));
  rig.run();
  const Reply staged = rig.only_reply();
  CHECK_EQ(staged.type, vww::msg::kResult);
  CHECK_EQ(staged.seq, 99);
  CHECK(Bytes(staged.payload.begin() + 12, staged.payload.end()) ==
        Bytes(direct.payload.begin() + 12, direct.payload.end()));
  CHECK(std::memcmp(rig.c.last_input.data(), px.data(), px.size()) == 0);
}

TEST(loop_staged_transfer_errors) {
  Rig rig;
  const Bytes px = ramp(96 * 96);
  rig.send(vww::msg::kStage, 1, stage_payload(0, px.size() > 1024 ? Bytes(px.begin(), px.begin() + 1024) : px));
  rig.send(vww::msg::kStage, 2, Bytes{0, 0, 0, 0});                                        // no data
  rig.send(vww::msg::kStage, 3, stage_payload(0, Bytes(1025, 1)));                         // too much data
  rig.send(vww::msg::kStage, 4, stage_payload(27648 - 10, Bytes(11, 1)));                  // ends past the buffer
  rig.send(vww::msg::kStage, 5, stage_payload(0xFFFFFFF0u, Bytes(32, 1)));                 // offset overflow
  rig.send(vww::msg::kInferStaged, 6, infer_staged_payload(96, 96, 1, 1, 0, 0x12345678));  // CRC differs
  rig.send(vww::msg::kInferStaged, 7, infer_staged_payload(96, 96, 3, 1, 0, 0));           // wrong shape
  rig.send(vww::msg::kInferStaged, 8, Bytes(11, 0));                                       // short
  rig.run();
  const auto r = rig.replies();
  REQUIRE(r.size() == 8);
  CHECK_EQ(r[0].type, vww::msg::kAck);
  check_error(r[1], 2, vww::ErrorCode::kBadPayload, vww::msg::kStage);
  check_error(r[2], 3, vww::ErrorCode::kBadPayload, vww::msg::kStage);
  check_error(r[3], 4, vww::ErrorCode::kTooLarge, vww::msg::kStage);
  check_error(r[4], 5, vww::ErrorCode::kTooLarge, vww::msg::kStage);
  check_error(r[5], 6, vww::ErrorCode::kStageMismatch, vww::msg::kInferStaged);
  check_error(r[6], 7, vww::ErrorCode::kBadShape, vww::msg::kInferStaged);
  check_error(r[7], 8, vww::ErrorCode::kBadPayload, vww::msg::kInferStaged);
  CHECK_EQ(rig.c.invokes, 0);
  // The last byte of the buffer is writable.
  rig.send(vww::msg::kStage, 9, stage_payload(27647, Bytes{7}));
  rig.run();
  CHECK_EQ(rig.only_reply().type, vww::msg::kAck);
}

TEST(loop_without_staging_buffer_does_not_know_stage) {
  Rig rig(80000, 1, 0);
  char s[1024];
  rig.send(vww::msg::kHello, 1);
  rig.run();
  CHECK_EQ(parse_info(rig.only_reply(), s, sizeof s).capabilities & vww::kCapStaged, 0);
  rig.send(vww::msg::kStage, 2, stage_payload(0, Bytes{1}));
  rig.send(vww::msg::kInferStaged, 3, infer_staged_payload(96, 96, 1, 1, 0, 0));
  rig.run();
  const auto r = rig.replies();
  REQUIRE(r.size() == 2);
  check_error(r[0], 2, vww::ErrorCode::kUnknownType, vww::msg::kStage);
  check_error(r[1], 3, vww::ErrorCode::kUnknownType, vww::msg::kInferStaged);
}

TEST(loop_staging_busy_while_streaming) {
  Rig rig;
  Bytes start(8);
  vww::encode_stream_start({vww::kFlagNoInfer, 0, 0}, start.data());
  rig.send(vww::msg::kStreamStart, 1, start);
  rig.send(vww::msg::kStage, 2, stage_payload(0, Bytes{1}));
  rig.run(0);
  std::vector<Reply> answers;
  for (const auto& x : rig.replies()) {
    if (x.type != vww::msg::kFrame) answers.push_back(x);
  }
  REQUIRE(answers.size() == 2);
  check_error(answers[1], 2, vww::ErrorCode::kBusy, vww::msg::kStage);
}

TEST(loop_timeout_on_partial_header_sends_nothing) {
  Rig rig;
  const Bytes f = frame(vww::msg::kHello, 5, {});
  rig.t.push(Bytes(f.begin(), f.begin() + 6));  // not even a whole header: nothing to name
  rig.run();
  rig.p.now_us += 200000;
  rig.loop->poll();
  CHECK(rig.replies().empty());
  CHECK_EQ(rig.loop->decoder().pending(), 0u);
}

TEST(loop_random_requests_fuzz) {
  // Valid frames of every request type with random (mostly malformed) payloads, corrupt frames and noise,
  // with random board conditions. Under ASan/UBSan: no memory error, and HELLO is answered at the end.
  std::mt19937 rng(2024);
  for (int round = 0; round < 150; ++round) {
    Rig rig(rng() % 2 ? 80000 : vww::kMinDeviceRxPayload, 1, rng() % 2 ? vww::kStagingMinBytes : 0);
    rig.p.has_camera = rng() % 2;
    rig.p.camera_ok = rng() % 4 != 0;
    rig.c.fail_invoke = rng() % 5 == 0;
    rig.loop->boot();
    for (int k = 0; k < 30; ++k) {
      const int what = rng() % 3;
      Bytes b;
      if (what == 0) {
        b.resize(rng() % 500);
        for (auto& x : b) x = static_cast<uint8_t>(rng());
      } else {
        Bytes payload(rng() % (what == 2 ? 13 : 40));
        for (auto& x : payload) x = static_cast<uint8_t>(rng() % 4 ? rng() % 4 : rng());
        if (rng() % 3 == 0 && payload.size() >= 8) payload[0] = payload[2] = 96, payload[1] = payload[3] = 0;
        b = frame(static_cast<uint8_t>(1 + rng() % 10), static_cast<uint16_t>(rng()), payload);
        if (rng() % 5 == 0) b[rng() % b.size()] ^= static_cast<uint8_t>(1 << (rng() % 8));
      }
      rig.t.max_per_read = 1 + rng() % 300;
      rig.t.push(b);
      rig.run(2);
      if (rng() % 4 == 0) {
        rig.p.now_us += 150000;
        rig.loop->poll();
      }
      rig.t.sent.clear();
    }
    rig.p.now_us += 150000;
    rig.loop->poll();
    rig.t.sent.clear();
    if (rig.loop->streaming()) rig.send(vww::msg::kStreamStop, 1);
    rig.send(vww::msg::kHello, 777);
    rig.run(0);
    bool answered = false;
    for (const auto& r : rig.replies()) answered |= r.type == vww::msg::kInfo && r.seq == 777;
    CHECK_MSG(answered, "round " + std::to_string(round));
  }
}

// ---- SELFTEST (docs/protocol.md section 3, "Self-test")

namespace {

std::vector<vww::Check> selftest(Rig& rig, uint16_t seq = 7) {
  rig.send(vww::msg::kSelftest, seq);
  rig.run();
  const Reply r = rig.only_reply();
  CHECK_EQ(r.type, vww::msg::kReport);
  CHECK_EQ(r.seq, seq);
  vww::Check checks[vww::kReportMaxChecks];
  size_t n = 0;
  REQUIRE(vww::decode_report(r.payload.data(), r.payload.size(), checks, vww::kReportMaxChecks, &n));
  return std::vector<vww::Check>(checks, checks + n);
}

const vww::Check& find(const std::vector<vww::Check>& checks, uint8_t id) {
  for (const auto& c : checks) {
    if (c.id == id) return c;
  }
  vwwtest::fail(__FILE__, __LINE__, "no check " + std::to_string(id));
  throw vwwtest::Abort{};
}

// Ids that failed, in order.
std::vector<int> failed(const std::vector<vww::Check>& checks) {
  std::vector<int> out;
  for (const auto& c : checks) {
    if (c.status == vww::CheckStatus::kFail) out.push_back(c.id);
  }
  return out;
}

}  // namespace

TEST(selftest_healthy_board_passes_every_check) {
  Rig rig;
  rig.p.fitted = true;
  const auto checks = selftest(rig);
  REQUIRE(checks.size() == 20u);
  CHECK(failed(checks).empty());
  const int want_ids[] = {0x01, 0x02, 0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17,
                          0x20, 0x21, 0x22, 0x30, 0x31, 0x40, 0x50, 0x51, 0x52, 0x60};
  for (size_t i = 0; i < checks.size(); ++i) CHECK_EQ(checks[i].id, want_ids[i]);
  CHECK_EQ(rig.p.walking_frames_asked, vww::CommandLoop::kWalkingOnesFrames);
  CHECK_EQ(find(checks, 0x01).measured, 0x01B0u);
  CHECK_EQ(find(checks, 0x02).measured, 2u * 324 * 244);
  CHECK_EQ(find(checks, 0x20).measured, 5012u);
  CHECK_EQ(find(checks, 0x31).measured, 117u);
  CHECK(find(checks, 0x40).measured == 47998720u && find(checks, 0x40).expected == 48000000u &&
        find(checks, 0x40).tolerance == 960000u);
  CHECK(find(checks, 0x50).measured == 82292u && find(checks, 0x50).expected == 90112u);
  CHECK(find(checks, 0x51).measured == 3112u && find(checks, 0x51).expected == 16384u - 256u);
  CHECK(find(checks, 0x52).status == vww::CheckStatus::kNotApplicable);
  CHECK(find(checks, 0x60).status == vww::CheckStatus::kPass && find(checks, 0x60).measured == 0u);
  CHECK_EQ(rig.c.invokes, 1);  // the built-in vector, once
  CHECK(rig.c.last_input == rig.c.vector_input);
  CHECK(!rig.p.leds[static_cast<int>(vww::LedId::kPerson)] && !rig.p.leds[static_cast<int>(vww::LedId::kNoPerson)]);
}

TEST(selftest_board_without_camera_reports_camera_checks_not_applicable) {
  Rig rig;  // fitted = false, as QEMU
  rig.p.clock_ok = false;
  rig.p.stack_ok = false;
  const auto checks = selftest(rig);
  CHECK(failed(checks).empty());
  for (const auto& c : checks) {
    const bool na = c.status == vww::CheckStatus::kNotApplicable;
    CHECK_MSG(na == (c.id <= 0x31 || c.id == 0x40 || c.id == 0x51 || c.id == 0x52), std::to_string(c.id));
  }
  CHECK_EQ(rig.p.walking_frames_asked, 0u);  // the probes were not even asked
}

TEST(selftest_each_fault_fails_its_own_check) {
  {
    Rig rig;
    rig.p.fitted = true;
    rig.p.mismatches[5] = 19520;  // D5 stuck low
    const auto checks = selftest(rig);
    CHECK(failed(checks) == std::vector<int>{0x15});
    CHECK_EQ(find(checks, 0x15).measured, 19520u);
  }
  {
    Rig rig;
    rig.p.fitted = true;
    rig.p.sensor_id = 0x01B1;
    CHECK(failed(selftest(rig)) == std::vector<int>{0x01});
  }
  {
    Rig rig;  // a silent sensor on a board built with one: every camera check fails with measured 0
    rig.p.fitted = true;
    rig.p.id_ok = rig.p.pattern_ok = rig.p.timing_ok = rig.p.exposure_ok = false;
    const auto checks = selftest(rig);
    CHECK((failed(checks) ==
           std::vector<int>{0x01, 0x02, 0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x20, 0x21, 0x22, 0x30, 0x31}));
    for (const auto& c : checks) {
      if (c.id <= 0x31) CHECK_EQ(c.measured, 0u);
    }
  }
  {
    Rig rig;
    rig.p.fitted = true;
    rig.p.timing = {0, 0, 0};  // no VSYNC
    CHECK((failed(selftest(rig)) == std::vector<int>{0x20, 0x21, 0x22}));
  }
  {
    Rig rig;
    rig.p.fitted = true;
    rig.p.exposure = {false, 6, 30};  // dark
    CHECK((failed(selftest(rig)) == std::vector<int>{0x30, 0x31}));
  }
  {
    Rig rig;
    rig.p.fitted = true;
    rig.p.clock_measured = 24000000;  // slow clock
    CHECK(failed(selftest(rig)) == std::vector<int>{0x40});
  }
  {
    Rig rig;
    rig.p.fitted = true;
    rig.p.stack_used = 16384 - 255;  // within the headroom: treated as an overflow
    CHECK(failed(selftest(rig)) == std::vector<int>{0x51});
  }
  {
    Rig rig;
    rig.p.fitted = true;
    rig.c.vector_output[1] ^= 1;  // the board's kernels disagree with the twin
    const auto checks = selftest(rig);
    CHECK(failed(checks) == std::vector<int>{0x60});
    CHECK_EQ(find(checks, 0x60).measured, 1u);
  }
  {
    Rig rig;  // a model that failed AllocateTensors: arena and model checks fail, nothing is invoked
    rig.p.fitted = true;
    rig.c.is_ready = false;
    const auto checks = selftest(rig);
    CHECK((failed(checks) == std::vector<int>{0x50, 0x60}));
    CHECK_EQ(find(checks, 0x60).measured, 2u);
    CHECK_EQ(rig.c.invokes, 0);
  }
  {
    Rig rig;  // an interpreter error during the model check
    rig.p.fitted = true;
    rig.c.fail_invoke = true;
    CHECK(failed(selftest(rig)) == std::vector<int>{0x60});
  }
  {
    Rig rig;  // codegen named another input than the one the core builds: no comparison, the check fails
    rig.p.fitted = true;
    rig.c.vector_crc ^= 1;
    const auto checks = selftest(rig);
    CHECK(failed(checks) == std::vector<int>{0x60});
    CHECK_EQ(rig.c.invokes, 0);
  }
  {
    Rig rig;  // model sources generated before the built-in vector existed
    rig.p.fitted = true;
    rig.c.has_vector = false;
    const auto checks = selftest(rig);
    CHECK(failed(checks).empty());
    CHECK(find(checks, 0x60).status == vww::CheckStatus::kNotApplicable);
  }
}

TEST(selftest_errors_and_busy) {
  Rig rig;
  rig.send(vww::msg::kSelftest, 3, Bytes{0});
  rig.run();
  check_error(rig.only_reply(), 3, vww::ErrorCode::kBadPayload, vww::msg::kSelftest);
  Bytes start(8);
  vww::encode_stream_start({vww::kFlagNoInfer, 0, 0}, start.data());
  rig.send(vww::msg::kStreamStart, 4, start);
  rig.run(0);
  rig.replies();
  rig.send(vww::msg::kSelftest, 5);
  rig.run(0);
  bool busy = false;
  for (const auto& r : rig.replies()) {
    if (r.type == vww::msg::kError && r.seq == 5) busy = r.error_code() == static_cast<uint16_t>(vww::ErrorCode::kBusy);
  }
  CHECK(busy);
}

// ---- capture windows (docs/protocol.md section 4): a board deaf while it reads a frame

TEST(loop_deaf_board_listens_between_groups_and_hears_stop) {
  Rig rig;
  rig.p.has_camera = true;
  rig.p.deaf_link = &rig.t;
  rig.p.capture_us = 200000;
  Bytes start(8);
  vww::encode_stream_start({vww::kFlagNoInfer, 0, 0}, start.data());
  rig.send(vww::msg::kStreamStart, 1, start);
  rig.run(0);
  CHECK_EQ(rig.replies().size(), 1u);  // the ACK; the first group waits for the listen window
  rig.p.now_us += vww::CommandLoop::kStreamListenUs - 1;
  rig.loop->poll();
  CHECK(rig.replies().empty());
  rig.p.now_us += 1;
  rig.loop->poll();
  CHECK_EQ(rig.replies().size(), 1u);  // group 1
  CHECK_EQ(rig.p.captures, 1);
  // A STREAM_STOP sent in the listen window after the group is heard: the next capture waits for it.
  rig.p.now_us += 30000;
  const Bytes stop = frame(vww::msg::kStreamStop, 2, {});
  rig.t.push(Bytes(stop.begin(), stop.begin() + 5));
  rig.loop->poll();
  // The listen window has passed since those bytes, but a frame half received holds the capture back (until
  // the inter-byte timeout, equally long, abandons it).
  rig.p.now_us += vww::CommandLoop::kStreamListenUs;
  rig.loop->poll();
  CHECK_EQ(rig.p.captures, 1);
  rig.t.push(Bytes(stop.begin() + 5, stop.end()));
  rig.loop->poll();
  const auto r = rig.replies();
  REQUIRE(r.size() == 1);
  CHECK(r[0].type == vww::msg::kAck && r[0].seq == 2);
  CHECK(!rig.loop->streaming());
  CHECK_EQ(rig.p.deaf_dropped, 0u);
}

TEST(loop_deaf_board_loses_stop_sent_during_a_capture_and_hears_the_resend) {
  // A host that breaks the rule (STOP queued while a capture starts) loses it; resent right after the next
  // group, as the protocol says, it is heard.
  Rig rig;
  rig.p.has_camera = true;
  rig.p.deaf_link = &rig.t;
  Bytes start(8);
  vww::encode_stream_start({vww::kFlagNoInfer, 0, 0}, start.data());
  rig.send(vww::msg::kStreamStart, 1, start);
  rig.run(0);
  rig.replies();
  rig.p.now_us += vww::CommandLoop::kStreamListenUs;
  rig.t.max_per_read = 0;  // the UART has the bytes but the loop does not read them before capturing
  rig.send(vww::msg::kStreamStop, 2);
  rig.loop->poll();
  CHECK_EQ(rig.p.captures, 1);
  CHECK_EQ(rig.p.deaf_dropped, vww::kFrameOverhead);
  rig.t.max_per_read = 1 << 20;
  CHECK_EQ(rig.replies().size(), 1u);  // the group, no ACK
  CHECK(rig.loop->streaming());
  rig.send(vww::msg::kStreamStop, 2);  // the resend, right after the group
  rig.loop->poll();
  const auto r = rig.replies();
  REQUIRE(r.size() == 1);
  CHECK(r[0].type == vww::msg::kAck && r[0].seq == 2);
  CHECK_EQ(rig.p.captures, 1);
}
