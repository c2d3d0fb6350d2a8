#include "framing.h"

#include <cstring>

#include "bytes.h"
#include "crc.h"

namespace vww {

void encode_header(uint8_t type, uint16_t seq, uint32_t length, uint8_t* out) {
  out[0] = kSync0;
  out[1] = kSync1;
  out[2] = kProtocolVersion;
  out[3] = type;
  put_u16(out + 4, seq);
  put_u32(out + 6, length);
  put_u16(out + 10, crc16_ccitt_false(out, 10));
}

size_t encode_frame(uint8_t type, uint16_t seq, const uint8_t* payload, size_t n, uint8_t* out, size_t out_cap) {
  if (n > kMaxPayload || out_cap < n + kFrameOverhead) return 0;
  encode_header(type, seq, static_cast<uint32_t>(n), out);
  if (n) std::memcpy(out + kHeaderSize, payload, n);
  put_u32(out + kHeaderSize + n, crc32(out, kHeaderSize + n));
  return n + kFrameOverhead;
}

void FrameWriter::begin(uint8_t type, uint16_t seq, uint32_t length) {
  uint8_t head[kHeaderSize];
  encode_header(type, seq, length, head);
  crc_ = crc32(head, sizeof head);
  sink_.write(head, sizeof head);
}

void FrameWriter::write(const uint8_t* data, size_t n) {
  if (!n) return;
  crc_ = crc32(data, n, crc_);
  sink_.write(data, n);
}

void FrameWriter::end() {
  uint8_t tail[kCrcSize];
  put_u32(tail, crc_);
  sink_.write(tail, sizeof tail);
}

void write_frame(ByteSink& sink, uint8_t type, uint16_t seq, const uint8_t* payload, size_t n) {
  FrameWriter w(sink);
  w.begin(type, seq, static_cast<uint32_t>(n));
  w.write(payload, n);
  w.end();
}

bool parse_header(const uint8_t* head, FrameHeader* out) {
  if (head[0] != kSync0 || head[1] != kSync1) return false;
  if (get_u16(head + 10) != crc16_ccitt_false(head, 10)) return false;
  const uint32_t length = get_u32(head + 6);
  if (head[2] != kProtocolVersion || length > kMaxPayload) return false;
  out->type = head[3];
  out->seq = get_u16(head + 4);
  out->length = length;
  return true;
}

FrameDecoder::FrameDecoder(uint8_t* buffer, size_t buffer_size, uint32_t accept_limit)
    : buf_(buffer), cap_(buffer_size), accept_limit_(accept_limit > kMaxPayload ? kMaxPayload : accept_limit) {
  // A buffer smaller than promised would make full-size frames undeliverable; shrink the limit instead so
  // such frames are reported as too large rather than stalling the receiver.
  if (cap_ < kFrameOverhead) {
    accept_limit_ = 0;
  } else if (cap_ - kFrameOverhead < accept_limit_) {
    accept_limit_ = static_cast<uint32_t>(cap_ - kFrameOverhead);
  }
}

void FrameDecoder::settle() {
  if (consumed_) {
    head_ += consumed_;
    len_ -= consumed_;
    consumed_ = 0;
  }
  if (len_ == 0) head_ = 0;
}

void FrameDecoder::drop(size_t n) {
  head_ += n;
  len_ -= n;
  garbage_bytes_ += n;
  if (len_ == 0) head_ = 0;
}

size_t FrameDecoder::feed(const uint8_t* data, size_t n) {
  settle();
  if (flushing_ && len_) return 0;  // finish the abandoned bytes (poll) before taking new ones
  flushing_ = false;
  if (skip_) {
    const size_t k = n < skip_ ? n : skip_;
    skip_ -= static_cast<uint32_t>(k);
    garbage_bytes_ += k;
    return k;
  }
  if (head_ + len_ + n > cap_ && head_) {
    std::memmove(buf_, buf_ + head_, len_);
    head_ = 0;
  }
  const size_t room = cap_ - head_ - len_;
  const size_t k = n < room ? n : room;
  if (k) std::memcpy(buf_ + head_ + len_, data, k);
  len_ += k;
  return k;
}

DecoderEvent FrameDecoder::scan() {
  DecoderEvent ev;
  for (;;) {
    const uint8_t* p = buf_ + head_;
    size_t start = 0;
    while (start + 1 < len_ && !(p[start] == kSync0 && p[start + 1] == kSync1)) ++start;
    if (start + 1 >= len_) {
      // No sync: keep a trailing 'V', it may be the first half of the next sync.
      const size_t keep = (len_ && p[len_ - 1] == kSync0) ? 1 : 0;
      drop(len_ - keep);
      return ev;
    }
    if (start) drop(start);
    p = buf_ + head_;
    if (len_ < kHeaderSize) return ev;
    FrameHeader h;
    if (!parse_header(p, &h)) {
      drop(1);  // a real frame may start inside what looked like a header
      continue;
    }
    const size_t total = kHeaderSize + h.length + kCrcSize;
    if (h.length > accept_limit_) {
      ++oversized_frames_;
      const size_t k = total < len_ ? total : len_;
      drop(k);
      skip_ = static_cast<uint32_t>(total - k);
      ev.kind = DecoderEvent::kTooLarge;
      ev.header = h;
      return ev;
    }
    if (len_ < total) return ev;
    const size_t body = kHeaderSize + h.length;
    if (get_u32(p + body) != crc32(p, body)) {
      ++rejected_frames_;
      drop(1);
      ev.kind = DecoderEvent::kBadCrc;
      ev.header = h;
      return ev;
    }
    ++frames_;
    consumed_ = total;
    ev.kind = DecoderEvent::kFrame;
    ev.header = h;
    ev.payload = p + kHeaderSize;
    return ev;
  }
}

DecoderEvent FrameDecoder::poll() {
  settle();
  if (skip_) return DecoderEvent{};
  DecoderEvent ev = scan();
  while (ev.kind == DecoderEvent::kNone && flushing_) {
    if (len_ == 0 || skip_) {
      flushing_ = false;
      break;
    }
    drop(1);
    ev = scan();
  }
  return ev;
}

bool FrameDecoder::partial_header(FrameHeader* out) const {
  const size_t len = len_ - consumed_;
  return len >= kHeaderSize && parse_header(buf_ + head_ + consumed_, out);
}

void FrameDecoder::timeout() {
  settle();
  garbage_bytes_ += skip_;
  skip_ = 0;
  flushing_ = len_ > 0;
}

void FrameDecoder::reset() {
  settle();
  garbage_bytes_ += len_ + skip_;
  len_ = 0;
  head_ = 0;
  skip_ = 0;
  flushing_ = false;
}

}  // namespace vww
