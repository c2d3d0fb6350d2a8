// Framing and messages against the golden vectors made by the Python reference (tests/vectors/protocol).
#include <cstring>
#include <filesystem>
#include <map>
#include <random>

#include "bytes.h"
#include "crc.h"
#include "framing.h"
#include "harness.h"
#include "messages.h"
#include "test_util.h"

using namespace vwwtest;

namespace {

struct FrameVector {
  std::string name;
  int type;
  int seq;
  Bytes payload;
  Bytes frame;
};

std::vector<FrameVector> load_frames() {
  bool ok;
  const std::string text = read_file(vectors_dir() + "protocol/frames.txt", &ok);
  REQUIRE(ok);
  std::vector<FrameVector> out;
  for (const auto& line : lines_of(text)) {
    const auto f = split(line, ' ');
    REQUIRE(f.size() == 5);
    out.push_back({f[0], std::stoi(f[1]), std::stoi(f[2]), from_hex(f[3]), from_hex(f[4])});
  }
  REQUIRE(!out.empty());
  return out;
}

}  // namespace

TEST(crc_check_values) {
  const uint8_t s[] = {'1', '2', '3', '4', '5', '6', '7', '8', '9'};
  CHECK_EQ(vww::crc16_ccitt_false(s, 9), 0x29B1);
  CHECK_EQ(vww::crc32(s, 9), 0xCBF43926u);
  // Continuing over pieces equals one pass.
  CHECK_EQ(vww::crc32(s + 4, 5, vww::crc32(s, 4)), 0xCBF43926u);
  CHECK_EQ(vww::crc32(s, 0), 0u);
}

TEST(frames_encode_like_python) {
  for (const auto& v : load_frames()) {
    Bytes out(v.payload.size() + vww::kFrameOverhead);
    const size_t n = vww::encode_frame(static_cast<uint8_t>(v.type), static_cast<uint16_t>(v.seq), v.payload.data(),
                                       v.payload.size(), out.data(), out.size());
    CHECK_MSG(n == v.frame.size() && out == v.frame, v.name);
    // The streaming writer produces the same bytes from pieces.
    struct VecSink : vww::ByteSink {
      Bytes b;
      void write(const uint8_t* d, size_t k) override { b.insert(b.end(), d, d + k); }
    } sink;
    vww::FrameWriter w(sink);
    w.begin(static_cast<uint8_t>(v.type), static_cast<uint16_t>(v.seq), static_cast<uint32_t>(v.payload.size()));
    for (size_t i = 0; i < v.payload.size(); i += 1000) {
      w.write(v.payload.data() + i, std::min<size_t>(1000, v.payload.size() - i));
    }
    w.end();
    CHECK_MSG(sink.b == v.frame, v.name + " (FrameWriter)");
  }
}

TEST(frames_decode_like_python) {
  for (const auto& v : load_frames()) {
    for (size_t chunk : {size_t(0), size_t(1), v.frame.size()}) {
      const DecodeRun run = run_decoder(v.frame, chunk, vww::kMaxPayload);
      REQUIRE(run.frames.size() == 1);
      CHECK_MSG(run.frames[0].type == v.type && run.frames[0].seq == v.seq &&
                    run.frames[0].length == v.payload.size() &&
                    run.frames[0].payload_crc == vww::crc32(v.payload.data(), v.payload.size()),
                v.name);
      CHECK_EQ(run.garbage, 0u);
      CHECK_EQ(run.rejected, 0u);
    }
  }
}

TEST(encode_frame_refuses_oversize_and_small_buffers) {
  Bytes big(vww::kMaxPayload + 1);
  Bytes out(big.size() + vww::kFrameOverhead);
  CHECK_EQ(vww::encode_frame(0x85, 0, big.data(), big.size(), out.data(), out.size()), 0u);
  CHECK_EQ(vww::encode_frame(0x85, 0, big.data(), 10, out.data(), 25), 0u);
  CHECK_EQ(vww::encode_frame(0x85, 0, big.data(), 10, out.data(), 26), 26u);
}

TEST(streams_match_python_receiver) {
  namespace fs = std::filesystem;
  const fs::path dir = vectors_dir() + "protocol/streams";
  REQUIRE(fs::is_directory(dir));
  int streams = 0;
  for (const auto& entry : fs::directory_iterator(dir)) {
    if (entry.path().extension() != ".bin") continue;
    ++streams;
    const std::string name = entry.path().stem().string();
    bool ok;
    const std::string bin = read_file(entry.path().string(), &ok);
    REQUIRE(ok);
    const std::string exp_text = read_file((dir / (name + ".expected.txt")).string(), &ok);
    REQUIRE(ok);
    std::vector<Accepted> expected;
    uint32_t expected_rejected = ~0u;
    for (const auto& line : lines_of(exp_text)) {
      const auto f = split(line, ' ');
      if (f[0] == "rejected") {
        expected_rejected = static_cast<uint32_t>(std::stoul(f[1]));
      } else {
        REQUIRE(f.size() == 4);
        expected.push_back({static_cast<uint8_t>(std::stoi(f[0])), static_cast<uint16_t>(std::stoi(f[1])),
                            static_cast<uint32_t>(std::stoul(f[2])),
                            static_cast<uint32_t>(std::stoul(f[3], nullptr, 16))});
      }
    }
    const Bytes data(bin.begin(), bin.end());
    // Whole, byte by byte, and random pieces must all give the Python receiver's answer.
    for (size_t chunk : {data.size(), size_t(1), size_t(0), size_t(13)}) {
      const DecodeRun run = run_decoder(data, chunk, vww::kMaxPayload, 7);
      const std::string what = name + " chunk=" + std::to_string(chunk);
      CHECK_MSG(!run.stalled, what);
      CHECK_MSG(run.frames == expected, what + ": accepted frames differ (got " + std::to_string(run.frames.size()) +
                                            ", want " + std::to_string(expected.size()) + ")");
      CHECK_MSG(run.rejected == expected_rejected, what + ": rejected " + std::to_string(run.rejected));
      CHECK_EQ(run.bad_crc.size(), run.rejected);
      uint64_t accepted_bytes = 0;
      for (const auto& a : run.frames) accepted_bytes += a.length + vww::kFrameOverhead;
      CHECK_MSG(run.garbage + accepted_bytes == data.size(), what + ": garbage accounting");
    }
  }
  CHECK(streams >= 9);
}

TEST(decoder_device_limit_reports_too_large_and_skips_without_buffering) {
  // A device with the minimum limit: a raw SET_FRAME is too large; the frames around it still arrive.
  const uint32_t limit = vww::kMinDeviceRxPayload;
  Bytes big(vww::kImageHeaderSize + 324 * 244, 0x56);  // full of false sync bytes too
  Bytes stream;
  auto append = [&](uint8_t type, uint16_t seq, const Bytes& payload) {
    Bytes f(payload.size() + vww::kFrameOverhead);
    f.resize(vww::encode_frame(type, seq, payload.data(), payload.size(), f.data(), f.size()));
    stream.insert(stream.end(), f.begin(), f.end());
  };
  append(0x01, 1, {});
  append(0x06, 2, big);
  append(0x01, 3, {});
  for (size_t chunk : {size_t(0), size_t(1), stream.size()}) {
    const DecodeRun run = run_decoder(stream, chunk, limit);
    REQUIRE(run.frames.size() == 2);
    CHECK_EQ(run.frames[0].seq, 1);
    CHECK_EQ(run.frames[1].seq, 3);
    REQUIRE(run.too_large.size() == 1);
    CHECK_EQ(run.too_large[0].seq, 2);
    CHECK_EQ(run.too_large[0].type, 0x06);
    CHECK_EQ(run.too_large[0].length, big.size());
  }
}

TEST(decoder_buffer_smaller_than_limit_shrinks_limit) {
  Bytes buf(100);
  vww::FrameDecoder dec(buf.data(), buf.size(), 1000);
  CHECK_EQ(dec.accept_limit(), 84u);
}

TEST(decoder_random_garbage_never_stalls_and_accounts_every_byte) {
  // Random bytes, valid frames and mutated frames mixed; run under ASan/UBSan by the pytest wrapper.
  std::mt19937 rng(12345);
  for (int round = 0; round < 40; ++round) {
    Bytes stream;
    std::vector<uint16_t> clean_seqs;
    const int parts = 5 + rng() % 30;
    for (int p = 0; p < parts; ++p) {
      const int what = rng() % 4;
      if (what == 0) {
        const size_t n = rng() % 300;
        for (size_t i = 0; i < n; ++i) stream.push_back(rng() % 4 == 0 ? (rng() % 2 ? 0x56 : 0x57) : rng());
      } else {
        Bytes payload(rng() % (what == 3 ? 5000 : 200));
        for (auto& b : payload) b = static_cast<uint8_t>(rng());
        Bytes f(payload.size() + vww::kFrameOverhead);
        vww::encode_frame(static_cast<uint8_t>(rng()), static_cast<uint16_t>(rng()), payload.data(), payload.size(),
                          f.data(), f.size());
        if (what == 2) {
          f[rng() % f.size()] ^= static_cast<uint8_t>(1 + rng() % 255);  // corrupt somewhere
        } else if (what == 3 && rng() % 2) {
          f.resize(rng() % f.size());  // truncated
        }
        stream.insert(stream.end(), f.begin(), f.end());
      }
    }
    const uint32_t limit = rng() % 2 ? vww::kMaxPayload : 1000;
    const DecodeRun a = run_decoder(stream, 0, limit, rng());
    const DecodeRun b = run_decoder(stream, 1, limit);
    CHECK(!a.stalled && !b.stalled);
    CHECK(a.frames == b.frames);  // chunking never changes the answer
    CHECK_EQ(a.rejected, b.rejected);
    CHECK_EQ(a.garbage, b.garbage);
    uint64_t accepted_bytes = 0;
    for (const auto& f : a.frames) accepted_bytes += f.length + vww::kFrameOverhead;
    if (limit == vww::kMaxPayload) CHECK_EQ(a.garbage + accepted_bytes, stream.size());
  }
  // Pure noise, no frames planted.
  Bytes noise(200000);
  for (auto& b : noise) b = static_cast<uint8_t>(rng() % 3 == 0 ? 0x56 + rng() % 2 : rng());
  const DecodeRun r = run_decoder(noise, 0, vww::kMaxPayload, 3);
  CHECK(!r.stalled);
  uint64_t accepted_bytes = 0;
  for (const auto& f : r.frames) accepted_bytes += f.length + vww::kFrameOverhead;
  CHECK_EQ(r.garbage + accepted_bytes, noise.size());
}

TEST(decoder_reset_and_pending) {
  Bytes buf(100 + vww::kFrameOverhead);
  vww::FrameDecoder dec(buf.data(), buf.size(), 100);
  Bytes f(20 + vww::kFrameOverhead);
  Bytes payload(20, 7);
  vww::encode_frame(0x02, 9, payload.data(), payload.size(), f.data(), f.size());
  CHECK_EQ(dec.feed(f.data(), 10), 10u);
  CHECK(dec.poll().kind == vww::DecoderEvent::kNone);
  CHECK_EQ(dec.pending(), 10u);
  dec.reset();
  CHECK_EQ(dec.pending(), 0u);
  CHECK_EQ(dec.garbage_bytes(), 10u);
  CHECK_EQ(dec.feed(f.data(), f.size()), f.size());
  const vww::DecoderEvent ev = dec.poll();
  REQUIRE(ev.kind == vww::DecoderEvent::kFrame);
  CHECK_EQ(ev.header.seq, 9);
  CHECK(std::memcmp(ev.payload, payload.data(), payload.size()) == 0);
}
