#include "messages.h"

#include <cstring>

#include "bytes.h"

namespace vww {

bool parse_image_header(const uint8_t* payload, size_t n, ImageHeader* out) {
  if (n < kImageHeaderSize) return false;
  out->width = get_u16(payload);
  out->height = get_u16(payload + 2);
  out->channels = payload[4];
  out->dtype = payload[5];
  out->kind = payload[6];
  out->reserved = payload[7];
  return true;
}

void encode_image_header(const ImageHeader& h, uint8_t* out) {
  put_u16(out, h.width);
  put_u16(out + 2, h.height);
  out[4] = h.channels;
  out[5] = h.dtype;
  out[6] = h.kind;
  out[7] = 0;
}

size_t TensorDesc::element_count() const {
  if (rank == 0 || rank > 4) return 0;
  size_t n = 1;
  for (int i = 0; i < rank; ++i) n *= dims[i];
  return n;
}

void encode_tensor_info(const TensorDesc& t, uint8_t* out) {
  std::memset(out, 0, kTensorInfoSize);
  out[0] = t.dtype;
  out[1] = t.rank;
  for (int i = 0; i < 4; ++i) put_u16(out + 4 + 2 * i, i < t.rank ? t.dims[i] : 0);
  put_f32(out + 12, t.scale);
  put_u32(out + 16, static_cast<uint32_t>(t.zero_point));
}

bool decode_tensor_info(const uint8_t* in, TensorDesc* out) {
  out->dtype = in[0];
  out->rank = in[1];
  for (int i = 0; i < 4; ++i) out->dims[i] = get_u16(in + 4 + 2 * i);
  out->scale = get_f32(in + 12);
  out->zero_point = static_cast<int32_t>(get_u32(in + 16));
  return out->rank >= 1 && out->rank <= 4;
}

namespace {

// Length of s capped at 255 bytes without splitting a UTF-8 sequence.
size_t str_field_length(const char* s) {
  size_t n = std::strlen(s);
  if (n <= 255) return n;
  n = 255;
  while (n > 0 && (static_cast<uint8_t>(s[n]) & 0xC0) == 0x80) --n;
  return n;
}

bool put_str(const char* s, uint8_t* out, size_t cap, size_t* pos) {
  const size_t n = str_field_length(s ? s : "");
  if (*pos + 1 + n > cap) return false;
  out[(*pos)++] = static_cast<uint8_t>(n);
  if (n) std::memcpy(out + *pos, s, n);
  *pos += n;
  return true;
}

bool get_str(const uint8_t* in, size_t n, size_t* pos, char* storage, size_t cap, size_t* used, const char** out) {
  if (*pos >= n) return false;
  const size_t len = in[(*pos)++];
  if (*pos + len > n || *used + len + 1 > cap) return false;
  char* dst = storage + *used;
  std::memcpy(dst, in + *pos, len);
  dst[len] = '\0';
  *used += len + 1;
  *pos += len;
  *out = dst;
  return true;
}

}  // namespace

size_t encode_info(const InfoMessage& info, uint8_t* out, size_t out_cap) {
  if (out_cap < kInfoFixedSize) return 0;
  out[0] = info.protocol_version;
  out[1] = info.kernels;
  out[2] = info.capabilities;
  out[3] = info.pipeline_mode;
  put_u32(out + 4, info.firmware_version);
  put_u32(out + 8, info.clock_hz);
  put_u32(out + 12, info.arena_size);
  put_u32(out + 16, info.arena_used);
  put_u32(out + 20, info.max_rx_payload);
  std::memcpy(out + 24, info.model_sha256, 32);
  encode_tensor_info(info.input, out + 56);
  encode_tensor_info(info.output, out + 80);
  size_t pos = kInfoFixedSize;
  if (!put_str(info.board, out, out_cap, &pos) || !put_str(info.firmware_name, out, out_cap, &pos)) return 0;
  const size_t count = info.label_count < kMaxLabels ? info.label_count : kMaxLabels;
  if (pos + 1 > out_cap) return 0;
  out[pos++] = static_cast<uint8_t>(count);
  for (size_t i = 0; i < count; ++i) {
    if (!put_str(info.labels[i], out, out_cap, &pos)) return 0;
  }
  return pos;
}

bool decode_info(const uint8_t* in, size_t n, InfoMessage* out, char* storage, size_t storage_cap) {
  if (n < kInfoFixedSize + 3) return false;
  out->protocol_version = in[0];
  out->kernels = in[1];
  out->capabilities = in[2];
  out->pipeline_mode = in[3];
  out->firmware_version = get_u32(in + 4);
  out->clock_hz = get_u32(in + 8);
  out->arena_size = get_u32(in + 12);
  out->arena_used = get_u32(in + 16);
  out->max_rx_payload = get_u32(in + 20);
  std::memcpy(out->model_sha256, in + 24, 32);
  if (!decode_tensor_info(in + 56, &out->input) || !decode_tensor_info(in + 80, &out->output)) return false;
  size_t pos = kInfoFixedSize, used = 0;
  if (!get_str(in, n, &pos, storage, storage_cap, &used, &out->board)) return false;
  if (!get_str(in, n, &pos, storage, storage_cap, &used, &out->firmware_name)) return false;
  if (pos >= n) return false;
  const size_t count = in[pos++];
  if (count > kMaxLabels) return false;
  out->label_count = count;
  for (size_t i = 0; i < count; ++i) {
    if (!get_str(in, n, &pos, storage, storage_cap, &used, &out->labels[i])) return false;
  }
  return pos == n;
}

void encode_result_header(uint32_t latency_us, uint64_t instructions, uint16_t score_count, uint8_t* out) {
  put_u32(out, latency_us);
  put_u64(out + 4, instructions);
  put_u16(out + 12, score_count);
}

namespace {

// Copies text into out (no NUL), cut at a UTF-8 character boundary when it does not fit.
size_t put_text(const char* text, uint8_t* out, size_t cap) {
  size_t n = text ? std::strlen(text) : 0;
  if (n > cap) {
    n = cap;
    while (n > 0 && (static_cast<uint8_t>(text[n]) & 0xC0) == 0x80) --n;
  }
  if (n) std::memcpy(out, text, n);
  return n;
}

}  // namespace

size_t encode_error(ErrorCode code, uint8_t request_type, const char* text, uint8_t* out, size_t out_cap) {
  if (out_cap < 3) return 0;
  put_u16(out, static_cast<uint16_t>(code));
  out[2] = request_type;
  return 3 + put_text(text, out + 3, out_cap - 3);
}

size_t encode_log(uint8_t level, const char* text, uint8_t* out, size_t out_cap) {
  if (out_cap < 1) return 0;
  out[0] = level;
  return 1 + put_text(text, out + 1, out_cap - 1);
}

bool parse_stream_start(const uint8_t* payload, size_t n, StreamStart* out) {
  if (n != 8 || (payload[0] & ~kKnownFlags)) return false;
  out->flags = payload[0];
  out->max_fps = get_u16(payload + 2);
  out->count = get_u32(payload + 4);
  return true;
}

void encode_stream_start(const StreamStart& s, uint8_t* out) {
  out[0] = s.flags;
  out[1] = 0;
  put_u16(out + 2, s.max_fps);
  put_u32(out + 4, s.count);
}

bool parse_stage(const uint8_t* payload, size_t n, Stage* out) {
  if (n < 5 || n > 4 + kStageMaxData) return false;
  out->offset = get_u32(payload);
  out->data = payload + 4;
  out->length = n - 4;
  return true;
}

bool parse_infer_staged(const uint8_t* payload, size_t n, ImageHeader* image, uint32_t* pixel_crc32) {
  if (n != kInferStagedSize || !parse_image_header(payload, n, image)) return false;
  *pixel_crc32 = get_u32(payload + kImageHeaderSize);
  return true;
}

bool Check::rule_holds() const {
  switch (rule) {
    case CheckRule::kEqual:
      return measured == expected;
    case CheckRule::kAtLeast:
      return measured >= expected;
    case CheckRule::kAtMost:
      return measured <= expected;
    case CheckRule::kWithin:
      return (measured > expected ? measured - expected : expected - measured) <= tolerance;
  }
  return false;
}

Check Check::judged(uint8_t id, CheckRule rule, uint32_t measured, uint32_t expected, uint32_t tolerance) {
  Check c;
  c.id = id;
  c.rule = rule;
  c.measured = measured;
  c.expected = expected;
  c.tolerance = tolerance;
  c.status = c.rule_holds() ? CheckStatus::kPass : CheckStatus::kFail;
  return c;
}

Check Check::failed(uint8_t id, CheckRule rule, uint32_t expected, uint32_t tolerance) {
  Check c = judged(id, rule, 0, expected, tolerance);
  c.status = CheckStatus::kFail;
  return c;
}

Check Check::not_applicable(uint8_t id, CheckRule rule, uint32_t expected, uint32_t tolerance) {
  Check c = judged(id, rule, 0, expected, tolerance);
  c.status = CheckStatus::kNotApplicable;
  return c;
}

void fill_selftest_input(int8_t* out, size_t n) {
  for (size_t i = 0; i < n; ++i) {
    const uint32_t h = static_cast<uint32_t>(i) * 2654435761u;  // mod 2^32 by unsigned wrap-around
    out[i] = static_cast<int8_t>(static_cast<int>(h >> 24) - 128);
  }
}

size_t encode_report(const Check* checks, size_t n, uint8_t* out, size_t out_cap) {
  if (n == 0 || n > kReportMaxChecks || out_cap < 1 + n * kCheckSize) return 0;
  out[0] = static_cast<uint8_t>(n);
  for (size_t i = 0; i < n; ++i) {
    uint8_t* r = out + 1 + i * kCheckSize;
    r[0] = checks[i].id;
    r[1] = static_cast<uint8_t>(checks[i].status);
    r[2] = static_cast<uint8_t>(checks[i].rule);
    r[3] = 0;
    put_u32(r + 4, checks[i].measured);
    put_u32(r + 8, checks[i].expected);
    put_u32(r + 12, checks[i].tolerance);
  }
  return 1 + n * kCheckSize;
}

bool decode_report(const uint8_t* in, size_t n, Check* out, size_t out_cap, size_t* count) {
  if (n < 1) return false;
  const size_t k = in[0];
  if (k == 0 || k > kReportMaxChecks || k > out_cap || n != 1 + k * kCheckSize) return false;
  for (size_t i = 0; i < k; ++i) {
    const uint8_t* r = in + 1 + i * kCheckSize;
    if (r[1] > static_cast<uint8_t>(CheckStatus::kNotApplicable)) return false;
    if (i > 0 && r[0] <= out[i - 1].id) return false;
    out[i].id = r[0];
    out[i].status = static_cast<CheckStatus>(r[1]);
    out[i].rule = static_cast<CheckRule>(r[2]);
    out[i].measured = get_u32(r + 4);
    out[i].expected = get_u32(r + 8);
    out[i].tolerance = get_u32(r + 12);
  }
  *count = k;
  return true;
}

}  // namespace vww
