#include "test_util.h"

#include <random>
#include <sstream>

#include "crc.h"

namespace vwwtest {

Bytes from_hex(const std::string& hex) {
  Bytes out;
  if (hex == "-") return out;
  out.reserve(hex.size() / 2);
  for (size_t i = 0; i + 1 < hex.size(); i += 2)
    out.push_back(static_cast<uint8_t>(std::stoul(hex.substr(i, 2), nullptr, 16)));
  return out;
}

std::string to_hex(const uint8_t* p, size_t n) {
  static const char* d = "0123456789abcdef";
  std::string s;
  for (size_t i = 0; i < n; ++i) {
    s += d[p[i] >> 4];
    s += d[p[i] & 15];
  }
  return s;
}

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out;
  std::string cur;
  for (char c : s) {
    if (c == sep) {
      out.push_back(cur);
      cur.clear();
    } else {
      cur += c;
    }
  }
  out.push_back(cur);
  return out;
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (!line.empty()) out.push_back(line);
  }
  return out;
}

DecodeRun run_decoder(const Bytes& data, size_t chunk, uint32_t accept_limit, uint32_t seed) {
  DecodeRun run;
  std::vector<uint8_t> buffer(accept_limit + vww::kFrameOverhead);
  vww::FrameDecoder dec(buffer.data(), buffer.size(), accept_limit);
  std::mt19937 rng(seed);
  auto drain = [&]() {
    for (vww::DecoderEvent ev = dec.poll(); ev.kind != vww::DecoderEvent::kNone; ev = dec.poll()) {
      if (ev.kind == vww::DecoderEvent::kFrame) {
        run.frames.push_back(
            {ev.header.type, ev.header.seq, ev.header.length, vww::crc32(ev.payload, ev.header.length)});
      } else if (ev.kind == vww::DecoderEvent::kBadCrc) {
        run.bad_crc.push_back(ev.header);
      } else {
        run.too_large.push_back(ev.header);
      }
    }
  };
  size_t pos = 0;
  while (pos < data.size()) {
    size_t n = chunk ? chunk : 1 + rng() % 700;
    if (n > data.size() - pos) n = data.size() - pos;
    const uint8_t* p = data.data() + pos;
    pos += n;
    int stalls = 0;
    while (n) {
      const size_t k = dec.feed(p, n);
      p += k;
      n -= k;
      drain();
      stalls = k ? 0 : stalls + 1;
      if (stalls > 2) {
        run.stalled = true;
        return run;
      }
    }
  }
  dec.timeout();
  drain();
  run.rejected = dec.rejected_frames();
  run.garbage = dec.garbage_bytes();
  return run;
}

}  // namespace vwwtest
