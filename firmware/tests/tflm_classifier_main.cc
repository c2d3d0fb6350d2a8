// Host check of TflmClassifier with the real TFLM (reference kernels) and a generated model:
//   tflm_classifier_test INPUT.bin...   (each file: the model's int8 input, e.g. pixel - 128)
// For each input it prints "direct S0 S1 ..." from TflmClassifier::invoke() and "loop S0 S1 ..." from a
// RESULT the CommandLoop sent for an INFER of the same bytes, then "arena_used N arena_size M".
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
#include <vector>

#include "bytes.h"
#include "classifier.h"
#include "command_loop.h"
#include "fakes.h"
#include "framing.h"
#include "messages.h"
#include "tflm_classifier.h"

int main(int argc, char** argv) {
  vww::Classifier& c = vww::default_classifier();
  if (!c.ready()) {
    std::printf("not_ready %s\n", c.status());
    return 3;
  }
  vwwtest::FakeTransport t;
  vwwtest::FakePlatform p;
  std::vector<uint8_t> rx(80000 + vww::kFrameOverhead), raw(vww::kRawFrameBytes);
  vww::CommandLoop loop(t, c, p, rx.data(), rx.size(), raw.data());
  const size_t n_in = c.input().element_count();
  const size_t n_out = c.output().element_count();
  for (int a = 1; a < argc; ++a) {
    std::ifstream f(argv[a], std::ios::binary);
    std::vector<uint8_t> x((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    if (x.size() != n_in) {
      std::printf("bad_input %s %zu\n", argv[a], x.size());
      return 4;
    }
    std::memcpy(c.input_data(), x.data(), n_in);
    if (!c.invoke()) return 5;
    std::printf("direct");
    for (size_t i = 0; i < n_out; ++i) std::printf(" %d", c.output_data()[i]);
    std::printf("\n");

    // Same bytes through the protocol: INFER -> RESULT.
    std::vector<uint8_t> payload(vww::kImageHeaderSize);
    vww::ImageHeader h;
    h.width = c.input().dims[2];
    h.height = c.input().dims[1];
    h.channels = static_cast<uint8_t>(c.input().dims[3]);
    h.dtype = vww::kDtypeInt8;
    h.kind = vww::kKindModelInput;
    vww::encode_image_header(h, payload.data());
    payload.insert(payload.end(), x.begin(), x.end());
    std::vector<uint8_t> frame(payload.size() + vww::kFrameOverhead);
    vww::encode_frame(vww::msg::kInfer, static_cast<uint16_t>(a), payload.data(), payload.size(), frame.data(),
                      frame.size());
    t.push(frame);
    while (!t.incoming.empty()) loop.poll();
    std::vector<uint8_t> buf(vww::kMaxPayload + vww::kFrameOverhead);
    vww::FrameDecoder dec(buf.data(), buf.size(), vww::kMaxPayload);
    dec.feed(t.sent.data(), t.sent.size());
    const vww::DecoderEvent ev = dec.poll();
    if (ev.kind != vww::DecoderEvent::kFrame || ev.header.type != vww::msg::kResult || ev.header.seq != a) return 6;
    const uint16_t count = vww::get_u16(ev.payload + 12);
    std::printf("loop");
    for (uint16_t i = 0; i < count; ++i) std::printf(" %d", static_cast<int8_t>(ev.payload[14 + i]));
    std::printf("\n");
    t.sent.clear();
  }
  std::printf("arena_used %u arena_size %u kernels %u\n", c.arena_used(), c.arena_size(), c.kernels());

  // SELFTEST: the built-in vector codegen embedded, run here, against the twin's output.
  std::vector<uint8_t> frame(vww::kFrameOverhead);
  vww::encode_frame(vww::msg::kSelftest, 900, nullptr, 0, frame.data(), frame.size());
  t.push(frame);
  while (!t.incoming.empty()) loop.poll();
  std::vector<uint8_t> buf(vww::kMaxPayload + vww::kFrameOverhead);
  vww::FrameDecoder dec(buf.data(), buf.size(), vww::kMaxPayload);
  dec.feed(t.sent.data(), t.sent.size());
  const vww::DecoderEvent ev = dec.poll();
  if (ev.kind != vww::DecoderEvent::kFrame || ev.header.type != vww::msg::kReport) return 7;
  vww::Check checks[vww::kReportMaxChecks];
  size_t n = 0;
  if (!vww::decode_report(ev.payload, ev.header.length, checks, vww::kReportMaxChecks, &n)) return 8;
  for (size_t i = 0; i < n; ++i) {
    if (checks[i].id == vww::check::kModelOutput) {
      std::printf("selftest_model_output status %u measured %u\n", static_cast<unsigned>(checks[i].status),
                  checks[i].measured);
    }
  }
  return 0;
}
