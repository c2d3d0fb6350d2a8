// Message payload encoders/parsers against tests/vectors/protocol/messages.txt (fields) and frames.txt (bytes).
#include <cstring>
#include <map>

#include "bytes.h"
#include "harness.h"
#include "messages.h"
#include "test_util.h"

using namespace vwwtest;

namespace {

struct MessageVector {
  std::string name;
  int type;
  std::map<std::string, std::string> fields;
  Bytes payload;
};

std::vector<MessageVector> load_messages() {
  bool ok;
  const auto frames = lines_of(read_file(vectors_dir() + "protocol/frames.txt", &ok));
  REQUIRE(ok);
  const auto messages = lines_of(read_file(vectors_dir() + "protocol/messages.txt", &ok));
  REQUIRE(ok);
  REQUIRE(frames.size() == messages.size());
  std::vector<MessageVector> out;
  for (size_t i = 0; i < messages.size(); ++i) {
    const auto m = split(messages[i], ' ');
    const auto f = split(frames[i], ' ');
    REQUIRE(m[0] == f[0]);
    MessageVector v{m[0], std::stoi(m[1]), {}, from_hex(f[3])};
    for (size_t k = 2; k < m.size(); ++k) {
      const size_t eq = m[k].find('=');
      REQUIRE(eq != std::string::npos);
      v.fields[m[k].substr(0, eq)] = m[k].substr(eq + 1);
    }
    out.push_back(v);
  }
  return out;
}

uint64_t num(const MessageVector& v, const char* key) {
  auto it = v.fields.find(key);
  REQUIRE(it != v.fields.end());
  return std::stoull(it->second);
}

std::string str_hex(const MessageVector& v, const char* key) {
  auto it = v.fields.find(key);
  REQUIRE(it != v.fields.end());
  const Bytes b = from_hex(it->second);
  return std::string(b.begin(), b.end());
}

// "int8:1,96,96,1:3c008081:-1"
vww::TensorDesc tensor(const std::string& s) {
  const auto parts = split(s, ':');
  REQUIRE(parts.size() == 4);
  vww::TensorDesc t;
  t.dtype = parts[0] == "int8" ? vww::kDtypeInt8 : parts[0] == "uint8" ? vww::kDtypeUint8 : vww::kDtypeFloat32;
  const auto dims = split(parts[1], ',');
  t.rank = static_cast<uint8_t>(dims.size());
  for (size_t i = 0; i < dims.size(); ++i) t.dims[i] = static_cast<uint16_t>(std::stoi(dims[i]));
  const uint32_t bits = static_cast<uint32_t>(std::stoul(parts[2], nullptr, 16));
  std::memcpy(&t.scale, &bits, 4);
  t.zero_point = std::stoi(parts[3]);
  return t;
}

}  // namespace

TEST(messages_match_python_encoders) {
  int checked = 0;
  for (const auto& v : load_messages()) {
    const Bytes& p = v.payload;
    Bytes out(p.size() + 64);
    size_t n = 0;
    bool compared = true;
    switch (v.type) {
      case 0x81: {
        vww::InfoMessage info;
        info.protocol_version = static_cast<uint8_t>(num(v, "protocol_version"));
        info.kernels = static_cast<uint8_t>(num(v, "kernels"));
        info.capabilities = static_cast<uint8_t>(num(v, "capabilities"));
        info.pipeline_mode = static_cast<uint8_t>(num(v, "pipeline_mode"));
        info.firmware_version = static_cast<uint32_t>(num(v, "firmware_version"));
        info.clock_hz = static_cast<uint32_t>(num(v, "clock_hz"));
        info.arena_size = static_cast<uint32_t>(num(v, "arena_size"));
        info.arena_used = static_cast<uint32_t>(num(v, "arena_used"));
        info.max_rx_payload = static_cast<uint32_t>(num(v, "max_rx_payload"));
        const Bytes sha = from_hex(v.fields.at("model_sha256"));
        REQUIRE(sha.size() == 32);
        std::memcpy(info.model_sha256, sha.data(), 32);
        info.input = tensor(v.fields.at("input"));
        info.output = tensor(v.fields.at("output"));
        const std::string board = str_hex(v, "board_hex"), fw = str_hex(v, "firmware_name_hex");
        info.board = board.c_str();
        info.firmware_name = fw.c_str();
        std::vector<std::string> labels;
        if (v.fields.at("labels_hex") != "-") {
          for (const auto& h : split(v.fields.at("labels_hex"), ',')) {
            const Bytes b = from_hex(h);
            labels.emplace_back(b.begin(), b.end());
          }
        }
        info.label_count = labels.size();
        for (size_t i = 0; i < labels.size(); ++i) info.labels[i] = labels[i].c_str();
        n = vww::encode_info(info, out.data(), out.size());
        // And back: decode, re-encode, same bytes.
        vww::InfoMessage back;
        char storage[2048];
        REQUIRE(vww::decode_info(p.data(), p.size(), &back, storage, sizeof storage));
        CHECK_EQ(back.label_count, labels.size());
        CHECK(std::strcmp(back.board, board.c_str()) == 0);
        Bytes again(p.size() + 64);
        CHECK_MSG(vww::encode_info(back, again.data(), again.size()) == p.size() &&
                      Bytes(again.begin(), again.begin() + p.size()) == p,
                  v.name + " decode/encode round trip");
        break;
      }
      case 0x82: {
        std::vector<int8_t> scores;
        if (v.fields.at("scores") != "-") {
          for (const auto& s : split(v.fields.at("scores"), ',')) scores.push_back(static_cast<int8_t>(std::stoi(s)));
        }
        vww::encode_result_header(static_cast<uint32_t>(num(v, "latency_us")), num(v, "instructions"),
                                  static_cast<uint16_t>(scores.size()), out.data());
        if (!scores.empty()) std::memcpy(out.data() + vww::kResultHeaderSize, scores.data(), scores.size());
        n = vww::kResultHeaderSize + scores.size();
        break;
      }
      case 0x02:
      case 0x06:
      case 0x83: {
        vww::ImageHeader h;
        REQUIRE(vww::parse_image_header(p.data(), p.size(), &h));
        CHECK_EQ(h.width, num(v, "width"));
        CHECK_EQ(h.height, num(v, "height"));
        CHECK_EQ(h.channels, num(v, "channels"));
        CHECK_EQ(h.dtype, num(v, "dtype"));
        CHECK_EQ(h.kind, num(v, "kind"));
        CHECK_EQ(h.pixel_bytes() + vww::kImageHeaderSize, p.size());
        vww::encode_image_header(h, out.data());
        std::memcpy(out.data() + 8, p.data() + 8, p.size() - 8);
        n = p.size();
        break;
      }
      case 0x85: {
        std::string text;
        if (v.fields.count("text_hex")) {
          text = str_hex(v, "text_hex");
        } else {  // max_payload: "a..z repeated" to fill the frame
          for (size_t i = 1; i < p.size(); ++i) text += static_cast<char>('a' + (i - 1) % 26);
        }
        n = vww::encode_log(static_cast<uint8_t>(num(v, "level")), text.c_str(), out.data(), out.size());
        break;
      }
      case 0x8F: {
        const std::string text = str_hex(v, "text_hex");
        n = vww::encode_error(static_cast<vww::ErrorCode>(num(v, "code")), static_cast<uint8_t>(num(v, "request_type")),
                              text.c_str(), out.data(), out.size());
        break;
      }
      case 0x04: {
        vww::StreamStart s;
        REQUIRE(vww::parse_stream_start(p.data(), p.size(), &s));
        CHECK_EQ(s.flags, num(v, "flags"));
        CHECK_EQ(s.max_fps, num(v, "max_fps"));
        CHECK_EQ(s.count, num(v, "count"));
        vww::encode_stream_start(s, out.data());
        n = 8;
        break;
      }
      case 0x08: {
        vww::Stage st;
        REQUIRE(vww::parse_stage(p.data(), p.size(), &st));
        CHECK_EQ(st.offset, num(v, "offset"));
        CHECK_EQ(st.length, num(v, "length"));
        vww::put_u32(out.data(), st.offset);
        std::memcpy(out.data() + 4, st.data, st.length);
        n = 4 + st.length;
        break;
      }
      case 0x09: {
        vww::ImageHeader h;
        uint32_t crc = 0;
        REQUIRE(vww::parse_infer_staged(p.data(), p.size(), &h, &crc));
        CHECK_EQ(h.width, num(v, "width"));
        CHECK_EQ(h.channels, num(v, "channels"));
        CHECK_EQ(h.kind, num(v, "kind"));
        CHECK_EQ(crc, static_cast<uint32_t>(std::stoul(v.fields.at("pixel_crc32"), nullptr, 16)));
        vww::encode_image_header(h, out.data());
        vww::put_u32(out.data() + 8, crc);
        n = 12;
        break;
      }
      case 0x03:
        out[0] = static_cast<uint8_t>(num(v, "flags"));
        n = 1;
        break;
      case 0x07:
        out[0] = static_cast<uint8_t>(num(v, "mode"));
        n = 1;
        break;
      case 0x84:
        out[0] = static_cast<uint8_t>(num(v, "acked_type"));
        n = 1;
        break;
      case 0x86: {  // REPORT: "checks=id:status:rule:measured:expected:tolerance,..."
        std::vector<vww::Check> checks;
        for (const auto& rec : split(v.fields.at("checks"), ',')) {
          const auto f = split(rec, ':');
          REQUIRE(f.size() == 6);
          vww::Check c;
          c.id = static_cast<uint8_t>(std::stoul(f[0]));
          c.status = static_cast<vww::CheckStatus>(std::stoul(f[1]));
          c.rule = static_cast<vww::CheckRule>(std::stoul(f[2]));
          c.measured = static_cast<uint32_t>(std::stoul(f[3]));
          c.expected = static_cast<uint32_t>(std::stoul(f[4]));
          c.tolerance = static_cast<uint32_t>(std::stoul(f[5]));
          // The device judges: a record that passes or fails must say what its rule says.
          if (c.status != vww::CheckStatus::kNotApplicable) {
            CHECK_MSG((c.status == vww::CheckStatus::kPass) == c.rule_holds() || c.rule > vww::CheckRule::kWithin,
                      v.name + " check " + f[0]);
          }
          checks.push_back(c);
        }
        n = vww::encode_report(checks.data(), checks.size(), out.data(), out.size());
        vww::Check back[vww::kReportMaxChecks];
        size_t count = 0;
        REQUIRE(vww::decode_report(p.data(), p.size(), back, vww::kReportMaxChecks, &count));
        CHECK_EQ(count, checks.size());
        for (size_t i = 0; i < count; ++i) CHECK(back[i].measured == checks[i].measured && back[i].id == checks[i].id);
        break;
      }
      default:  // HELLO, STREAM_STOP, unknown types: empty or opaque payloads
        compared = false;
        break;
    }
    if (!compared) continue;
    ++checked;
    CHECK_MSG(n == p.size() && Bytes(out.begin(), out.begin() + n) == p, v.name);
  }
  CHECK(checked >= 45);
}

TEST(info_encoder_bounds_and_utf8_cut) {
  vww::InfoMessage info;
  std::string longname(300, 'x');
  longname.replace(254, 2, "\xc3\xa9");  // a 2-byte character straddling the 255-byte limit
  info.board = longname.c_str();
  info.firmware_name = "fw";
  info.label_count = 0;
  uint8_t out[1024];
  const size_t n = vww::encode_info(info, out, sizeof out);
  REQUIRE(n > 0);
  CHECK_EQ(out[vww::kInfoFixedSize], 254);         // cut before the character, never inside it
  CHECK_EQ(vww::encode_info(info, out, 200), 0u);  // does not fit: refused, not overrun
  CHECK_EQ(vww::encode_info(info, out, 50), 0u);
}

TEST(stream_start_parser_rejects_bad_payloads) {
  vww::StreamStart s;
  const uint8_t good[8] = {3, 0, 15, 0, 100, 0, 0, 0};
  CHECK(vww::parse_stream_start(good, 8, &s));
  CHECK_EQ(s.max_fps, 15);
  CHECK_EQ(s.count, 100u);
  CHECK(!vww::parse_stream_start(good, 7, &s));
  const uint8_t bad_flags[8] = {4, 0, 0, 0, 0, 0, 0, 0};
  CHECK(!vww::parse_stream_start(bad_flags, 8, &s));
}

TEST(error_text_is_cut_to_fit) {
  uint8_t out[8];
  CHECK_EQ(vww::encode_error(vww::ErrorCode::kBusy, 2, "abcdefghij", out, sizeof out), 8u);
  CHECK_EQ(vww::get_u16(out), 8);
  CHECK_EQ(out[2], 2);
  CHECK(std::memcmp(out + 3, "abcde", 5) == 0);
}

TEST(report_decoder_rejects_malformed_payloads) {
  vww::Check ok[2] = {vww::Check::judged(1, vww::CheckRule::kEqual, 0x1B0, 0x1B0),
                      vww::Check::not_applicable(2, vww::CheckRule::kAtLeast, 79056)};
  uint8_t buf[1 + 2 * vww::kCheckSize];
  REQUIRE(vww::encode_report(ok, 2, buf, sizeof buf) == sizeof buf);
  vww::Check out[vww::kReportMaxChecks];
  size_t count = 0;
  CHECK(vww::decode_report(buf, sizeof buf, out, 32, &count) && count == 2);
  CHECK(!vww::decode_report(buf, sizeof buf - 1, out, 32, &count));  // short
  CHECK(!vww::decode_report(buf, 0, out, 32, &count));
  CHECK(!vww::decode_report(buf, sizeof buf, out, 1, &count));  // more than the caller can hold
  Bytes bad(buf, buf + sizeof buf);
  bad[1 + 1] = 3;  // status 3
  CHECK(!vww::decode_report(bad.data(), bad.size(), out, 32, &count));
  bad = Bytes(buf, buf + sizeof buf);
  bad[1 + vww::kCheckSize] = 1;  // second id repeats the first
  CHECK(!vww::decode_report(bad.data(), bad.size(), out, 32, &count));
  bad = Bytes(buf, buf + sizeof buf);
  bad[0] = 0;
  CHECK(!vww::decode_report(bad.data(), 1, out, 32, &count));
  // The encoder refuses what no decoder accepts.
  CHECK_EQ(vww::encode_report(ok, 0, buf, sizeof buf), 0u);
  CHECK_EQ(vww::encode_report(ok, 2, buf, sizeof buf - 1), 0u);
}

TEST(report_rules_judge_as_the_spec_says) {
  using R = vww::CheckRule;
  CHECK(vww::Check::judged(0x31, R::kWithin, 32, 128, 96).status == vww::CheckStatus::kPass);
  CHECK(vww::Check::judged(0x31, R::kWithin, 31, 128, 96).status == vww::CheckStatus::kFail);
  CHECK(vww::Check::judged(0x31, R::kWithin, 225, 128, 96).status == vww::CheckStatus::kFail);
  CHECK(vww::Check::judged(0x20, R::kAtLeast, 999, 1000).status == vww::CheckStatus::kFail);
  CHECK(vww::Check::judged(0x50, R::kAtMost, 90112, 90112).status == vww::CheckStatus::kPass);
  CHECK(vww::Check::failed(0x10, R::kEqual, 0).status == vww::CheckStatus::kFail);  // measured 0 == 0, still failed
}
