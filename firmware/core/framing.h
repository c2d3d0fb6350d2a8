// Frame encoder and incremental decoder, docs/protocol.md section 1.
//
// The decoder mirrors vwwdeploy/link/protocol/framing.py decision for decision (where to rescan, what counts as
// garbage), so both accept exactly the same frames from the same bytes; tests/vectors/protocol/streams proves it.
#ifndef VWW_CORE_FRAMING_H_
#define VWW_CORE_FRAMING_H_

#include <cstddef>
#include <cstdint>

namespace vww {

constexpr uint8_t kSync0 = 0x56;  // 'V'
constexpr uint8_t kSync1 = 0x57;  // 'W'
constexpr uint8_t kProtocolVersion = 1;
constexpr size_t kHeaderSize = 12;
constexpr size_t kCrcSize = 4;
constexpr size_t kFrameOverhead = kHeaderSize + kCrcSize;
constexpr uint32_t kMaxPayload = 81920;          // MAX_PAYLOAD: no valid header announces more
constexpr uint32_t kMinDeviceRxPayload = 27656;  // one 96x96x3 INFER with its 8-byte image header

// Where encoded bytes go (the UART on a board, a vector in tests).
class ByteSink {
 public:
  virtual void write(const uint8_t* data, size_t n) = 0;

 protected:
  ~ByteSink() = default;
};

// Writes the 12 header bytes for (type, seq, length) into out[0..11].
void encode_header(uint8_t type, uint16_t seq, uint32_t length, uint8_t* out);

// Whole frame into `out`; returns its size, or 0 when out_cap is too small or n > kMaxPayload.
size_t encode_frame(uint8_t type, uint16_t seq, const uint8_t* payload, size_t n, uint8_t* out, size_t out_cap);

// Streams one frame to a sink in pieces so a 79 KB raw camera frame needs no second buffer:
//   begin(type, seq, n); write(...) totalling exactly n bytes; end();
class FrameWriter {
 public:
  explicit FrameWriter(ByteSink& sink) : sink_(sink) {}
  void begin(uint8_t type, uint16_t seq, uint32_t length);
  void write(const uint8_t* data, size_t n);
  void end();

 private:
  ByteSink& sink_;
  uint32_t crc_ = 0;
};

// Convenience: a complete frame from one contiguous payload.
void write_frame(ByteSink& sink, uint8_t type, uint16_t seq, const uint8_t* payload, size_t n);

struct FrameHeader {
  uint8_t type;
  uint16_t seq;
  uint32_t length;
};

// The 12 header bytes -> header; false when sync, CRC, version or length (> kMaxPayload) is wrong.
bool parse_header(const uint8_t* head, FrameHeader* out);

struct DecoderEvent {
  enum Kind : uint8_t {
    kNone,      // nothing complete yet: feed more bytes
    kFrame,     // a valid frame; payload points into the decoder's buffer, valid until the next call
    kBadCrc,    // valid header, bad frame CRC (answer ERROR BAD_CRC with header.seq)
    kTooLarge,  // valid header announcing more than the accept limit (answer ERROR TOO_LARGE)
  };
  Kind kind = kNone;
  FrameHeader header{};
  const uint8_t* payload = nullptr;
};

// Incremental receiver. The caller provides the buffer (static on a board): accept_limit + kFrameOverhead bytes.
// Usage:
//   while (n) { size_t k = dec.feed(p, n); p += k; n -= k;
//               for (auto e = dec.poll(); e.kind != DecoderEvent::kNone; e = dec.poll()) handle(e); }
// A full buffer always lets poll() make progress, so this loop cannot stall.
class FrameDecoder {
 public:
  // accept_limit: the largest payload accepted (a device's DEVICE_MAX_RX_PAYLOAD); larger valid headers give
  // kTooLarge and their bytes are skipped as they arrive. buffer_size must be >= accept_limit + kFrameOverhead.
  FrameDecoder(uint8_t* buffer, size_t buffer_size, uint32_t accept_limit);

  // Takes as many bytes as fit and returns how many it took.
  size_t feed(const uint8_t* data, size_t n);
  // The next event from the buffered bytes, kNone when more bytes are needed.
  DecoderEvent poll();
  // Inter-byte timeout / end of input: abandon the partial frame. Keep calling poll() until kNone: complete
  // frames found while rescanning the abandoned bytes are still delivered.
  void timeout();
  // Forget everything buffered (counted as garbage).
  void reset();

  // True when the buffered bytes start with a valid header (a frame still incomplete): its header is what a
  // device names in ERROR BAD_CRC when that frame is abandoned at the inter-byte timeout.
  bool partial_header(FrameHeader* out) const;
  // Bytes held for a frame not yet complete (0 when idle).
  size_t pending() const { return len_ + skip_; }
  uint32_t accept_limit() const { return accept_limit_; }
  uint64_t garbage_bytes() const { return garbage_bytes_; }
  uint32_t rejected_frames() const { return rejected_frames_; }
  uint32_t oversized_frames() const { return oversized_frames_; }
  uint32_t frames() const { return frames_; }

 private:
  void settle();  // removes the frame returned by the previous poll()
  void drop(size_t n);
  DecoderEvent scan();

  uint8_t* buf_;
  size_t cap_;
  uint32_t accept_limit_;
  size_t head_ = 0;  // buffered bytes are buf_[head_, head_ + len_): dropping is O(1), compaction lazy
  size_t len_ = 0;
  size_t consumed_ = 0;  // bytes of the last delivered frame still at the front of buf_
  uint32_t skip_ = 0;    // bytes of an oversized frame still to discard
  bool flushing_ = false;
  uint64_t garbage_bytes_ = 0;
  uint32_t rejected_frames_ = 0;
  uint32_t oversized_frames_ = 0;
  uint32_t frames_ = 0;
};

}  // namespace vww

#endif  // VWW_CORE_FRAMING_H_
