// CommandLoop against the device-behaviour vectors (tests/vectors/device/behaviour.txt, docs/protocol.md
// section 7): the same file the simulated board is held to (tests/test_device_vectors.py).
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "command_loop.h"
#include "crc.h"
#include "fakes.h"
#include "harness.h"
#include "messages.h"

using namespace vwwtest;

namespace {

constexpr uint8_t kLog = 0x85;        // informative: never part of what a device must send
constexpr uint64_t kIdleUs = 250000;  // longer than the device's 100 ms inter-byte timeout

struct Mask {
  size_t start;
  size_t end;  // SIZE_MAX: to the end of the payload
};

struct Expected {
  uint8_t type = 0;
  uint16_t seq = 0;
  bool inline_payload = true;
  Bytes payload;
  uint32_t length = 0;
  uint32_t crc = 0;
  std::vector<Mask> masks;
};

struct Step {
  std::string kind;  // boot | send | idle
  Bytes data;
  std::vector<Expected> replies;
};

struct Case {
  std::string name;
  int h = 96, w = 96, c = 1;
  bool camera = false, camera_ok = true, staging = true, invoke_ok = true;
  uint32_t max_rx = 80000;
  std::vector<Step> steps;
};

std::vector<Mask> parse_masks(const std::string& text) {
  std::vector<Mask> out;
  for (const std::string& part : split(text, ',')) {
    const auto colon = part.find(':');
    const std::string end = part.substr(colon + 1);
    out.push_back({std::stoul(part.substr(0, colon)), end.empty() ? SIZE_MAX : std::stoul(end)});
  }
  return out;
}

std::vector<Case> load(bool* ok) {
  std::vector<Case> cases;
  const std::string text = read_file(vectors_dir() + "device/behaviour.txt", ok);
  if (!*ok) return cases;
  Case cur;
  for (const std::string& line : lines_of(text)) {
    if (line.empty() || line[0] == '#') continue;
    const std::vector<std::string> f = split(line, ' ');
    if (f[0] == "case") {
      cur = Case();
      cur.name = f[1];
    } else if (f[0] == "device") {
      for (size_t i = 1; i < f.size(); ++i) {
        const auto eq = f[i].find('=');
        const std::string k = f[i].substr(0, eq), v = f[i].substr(eq + 1);
        if (k == "input") {
          std::sscanf(v.c_str(), "%dx%dx%d", &cur.h, &cur.w, &cur.c);
        } else if (k == "camera") {
          cur.camera = v != "none";
          cur.camera_ok = v != "failing";
        } else if (k == "staging") {
          cur.staging = v == "yes";
        } else if (k == "invoke") {
          cur.invoke_ok = v == "ok";
        } else if (k == "max_rx") {
          cur.max_rx = static_cast<uint32_t>(std::stoul(v));
        } else {
          *ok = false;
          fail(__FILE__, __LINE__, "unknown device key " + k);
        }
      }
    } else if (f[0] == "boot" || f[0] == "idle") {
      cur.steps.push_back({f[0], {}, {}});
    } else if (f[0] == "send") {
      cur.steps.push_back({"send", from_hex(f[1]), {}});
    } else if (f[0] == "reply") {
      Expected e;
      e.type = static_cast<uint8_t>(std::stoul(f[1]));
      e.seq = static_cast<uint16_t>(std::stoul(f[2]));
      if (f[3].rfind("crc:", 0) == 0) {
        const std::vector<std::string> p = split(f[3], ':');
        e.inline_payload = false;
        e.length = static_cast<uint32_t>(std::stoul(p[1]));
        e.crc = static_cast<uint32_t>(std::stoul(p[2], nullptr, 16));
      } else {
        e.payload = from_hex(f[3]);
      }
      if (f.size() > 4) e.masks = parse_masks(f[4].substr(5));  // "mask=..."
      cur.steps.back().replies.push_back(e);
    } else if (f[0] == "end") {
      cases.push_back(cur);
    } else {
      *ok = false;
      fail(__FILE__, __LINE__, "unknown record " + f[0]);
    }
  }
  return cases;
}

// Payload bytes with the masked ranges replaced by one zero byte each (from the end, so offsets hold).
Bytes masked(Bytes b, std::vector<Mask> masks) {
  for (size_t i = masks.size(); i-- > 0;) {
    const Mask& m = masks[i];
    if (m.start > b.size()) continue;
    const size_t end = m.end == SIZE_MAX || m.end > b.size() ? b.size() : m.end;
    b.erase(b.begin() + static_cast<long>(m.start), b.begin() + static_cast<long>(end));
    b.insert(b.begin() + static_cast<long>(m.start), 0);
  }
  return b;
}

std::string compare(const Expected& e, uint8_t type, uint16_t seq, const Bytes& payload) {
  if (type != e.type || seq != e.seq) {
    return "got type " + std::to_string(type) + " seq " + std::to_string(seq) + ", want type " +
           std::to_string(e.type) + " seq " + std::to_string(e.seq);
  }
  if (!e.inline_payload) {
    const uint32_t crc = vww::crc32(payload.data(), payload.size());
    if (payload.size() != e.length || crc != e.crc) {
      return "payload " + std::to_string(payload.size()) + " bytes, want " + std::to_string(e.length) +
             (payload.size() == e.length ? " (CRC differs)" : "");
    }
    return "";
  }
  bool open_end = false;
  size_t min_len = 0;
  for (const Mask& m : e.masks) {
    if (m.end == SIZE_MAX) open_end = true;
    if (m.start > min_len) min_len = m.start;
  }
  if (payload.size() != e.payload.size() && !(open_end && payload.size() >= min_len)) {
    return "payload " + std::to_string(payload.size()) + " bytes, want " + std::to_string(e.payload.size());
  }
  const Bytes got = masked(payload, e.masks), want = masked(e.payload, e.masks);
  if (got != want)
    return "payload " + to_hex(got.data(), got.size()).substr(0, 80) + ", want " +
           to_hex(want.data(), want.size()).substr(0, 80);
  return "";
}

void run_case(const Case& k) {
  FakeTransport t;
  FakePlatform p;
  p.has_camera = k.camera;
  p.camera_ok = k.camera_ok;
  FakeClassifier c(k.c, k.h, k.w);
  c.fail_invoke = !k.invoke_ok;
  Bytes rx(k.max_rx + vww::kFrameOverhead);
  Bytes raw(vww::kRawFrameBytes);
  const size_t staging_size = k.staging ? vww::kStagingMinBytes : 0;
  Bytes staging(staging_size);
  vww::CommandLoop loop(t, c, p, rx.data(), rx.size(), raw.data(), staging_size ? staging.data() : nullptr,
                        staging_size);
  Bytes dec_buf(vww::kMaxPayload + vww::kFrameOverhead);
  vww::FrameDecoder dec(dec_buf.data(), dec_buf.size(), vww::kMaxPayload);

  for (size_t si = 0; si < k.steps.size(); ++si) {
    const Step& step = k.steps[si];
    const std::string where = k.name + " step " + std::to_string(si) + " (" + step.kind + ")";
    if (step.kind == "boot") {
      loop.boot();
    } else if (step.kind == "idle") {
      p.now_us += kIdleUs;
    } else {
      t.push(step.data);
    }
    // Poll until every byte is read and the device has gone quiet (a stream may still be sending).
    int quiet = 0;
    for (int i = 0; i < 100000 && (quiet < 3 || !t.incoming.empty()); ++i) {
      const size_t before = t.sent.size();
      loop.poll();
      quiet = t.sent.size() == before ? quiet + 1 : 0;
    }
    std::vector<std::pair<vww::FrameHeader, Bytes>> got;
    const uint8_t* q = t.sent.data();
    size_t n = t.sent.size();
    while (n) {
      const size_t used = dec.feed(q, n);
      q += used;
      n -= used;
      for (auto ev = dec.poll(); ev.kind != vww::DecoderEvent::kNone; ev = dec.poll()) {
        CHECK_MSG(ev.kind == vww::DecoderEvent::kFrame, where + ": the device sent a corrupt frame");
        if (ev.kind == vww::DecoderEvent::kFrame && ev.header.type != kLog) {
          got.push_back({ev.header, Bytes(ev.payload, ev.payload + ev.header.length)});
        }
      }
    }
    t.sent.clear();
    CHECK_MSG(dec.pending() == 0, where + ": the device left a partial frame");
    CHECK_MSG(got.size() == step.replies.size(),
              where + ": " + std::to_string(got.size()) + " replies, want " + std::to_string(step.replies.size()));
    for (size_t i = 0; i < got.size() && i < step.replies.size(); ++i) {
      const std::string why = compare(step.replies[i], got[i].first.type, got[i].first.seq, got[i].second);
      CHECK_MSG(why.empty(), where + " reply " + std::to_string(i) + ": " + why);
    }
  }
}

}  // namespace

TEST(device_vectors_command_loop) {
  bool ok = false;
  const std::vector<Case> cases = load(&ok);
  REQUIRE(ok);
  REQUIRE(cases.size() >= 20);
  for (const Case& k : cases) run_case(k);
}

TEST(device_vectors_compare_can_fail) {
  // The comparison must notice a wrong score, a wrong seq and a wrong length; masked bytes are free.
  Expected e;
  e.type = vww::msg::kResult;
  e.seq = 3;
  e.payload = Bytes{1, 2, 3, 4, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0xFF, 1};
  e.masks = {{0, 12}};
  Bytes same = e.payload;
  same[0] = 99;
  CHECK(compare(e, vww::msg::kResult, 3, same).empty());
  Bytes wrong = e.payload;
  wrong[15] = 2;
  CHECK(!compare(e, vww::msg::kResult, 3, wrong).empty());
  CHECK(!compare(e, vww::msg::kResult, 4, e.payload).empty());
  CHECK(!compare(e, vww::msg::kResult, 3, Bytes(e.payload.begin(), e.payload.end() - 1)).empty());
}
