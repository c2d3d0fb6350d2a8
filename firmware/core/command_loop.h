// The device side of docs/protocol.md section 4: answers requests from the host, streams, never hangs.
// Board-independent: it talks to a Transport, a Platform and a Classifier (platform.h, classifier.h), so host
// tests drive it with fakes and app_main.cc with the real board.
#ifndef VWW_CORE_COMMAND_LOOP_H_
#define VWW_CORE_COMMAND_LOOP_H_

#include <cstddef>
#include <cstdint>

#include "classifier.h"
#include "framing.h"
#include "messages.h"
#include "pipeline.h"
#include "platform.h"

namespace vww {

class CommandLoop {
 public:
  static constexpr size_t kReadChunk = 256;
  static constexpr size_t kMaxReadPerPoll = 4096;  // then give a running stream its turn
  // docs/protocol.md, "Capture windows": on a board deaf during captures, quiet time before the next group.
  static constexpr uint64_t kStreamListenUs = 100000;
  static constexpr uint32_t kWalkingOnesFrames = 2;  // SELFTEST data-line test

  // rx_buffer: rx_buffer_size bytes, which sets DEVICE_MAX_RX_PAYLOAD = rx_buffer_size - 16 (at most
  // kMaxPayload). raw_frame: kRawFrameBytes, holds the camera / SET_FRAME frame. staging: the STAGE
  // buffer (at least kStagingMinBytes, or nullptr for no staged transfer: capability bit 3 clear, STAGE
  // and INFER_STAGED answered UNKNOWN_TYPE). All outlive the loop.
  CommandLoop(Transport& transport, Classifier& classifier, Platform& platform, uint8_t* rx_buffer,
              size_t rx_buffer_size, uint8_t* raw_frame, uint8_t* staging = nullptr, size_t staging_size = 0);

  // Sends the unsolicited boot INFO (device seq 0).
  void boot();
  // One iteration: reads what has arrived, answers every complete request, drops a partial frame after the
  // inter-byte timeout, then sends the next stream group when one is due. Never blocks waiting for input.
  void poll();

  bool streaming() const { return streaming_; }
  PipelineMode pipeline_mode() const { return mode_; }
  uint32_t max_rx_payload() const { return decoder_.accept_limit(); }
  uint16_t device_seq() const { return device_seq_; }
  const FrameDecoder& decoder() const { return decoder_; }
  uint32_t requests() const { return requests_; }
  uint32_t errors_sent() const { return errors_sent_; }

 private:
  void handle(const DecoderEvent& ev);
  void dispatch(uint8_t type, uint16_t seq, const uint8_t* payload, size_t n);
  void on_infer(uint16_t seq, const uint8_t* payload, size_t n);
  void on_capture(uint16_t seq, const uint8_t* payload, size_t n);
  void on_stream_start(uint16_t seq, const uint8_t* payload, size_t n);
  void on_set_frame(uint16_t seq, const uint8_t* payload, size_t n);
  void on_set_pipeline(uint16_t seq, const uint8_t* payload, size_t n);
  void on_stage(uint16_t seq, const uint8_t* payload, size_t n);
  void on_infer_staged(uint16_t seq, const uint8_t* payload, size_t n);
  void on_selftest(uint16_t seq, const uint8_t* payload, size_t n);
  // SELFTEST parts: each appends its checks to `out` and returns how many.
  size_t camera_checks(Check* out);
  size_t board_checks(Check* out);
  // INFER and INFER_STAGED: BAD_SHAPE unless the image is the model input. False after sending ERROR.
  bool check_model_input(uint16_t seq, uint8_t request_type, const ImageHeader& img);
  void stream_step();

  // Camera frame (or SET_FRAME frame, or test pattern) -> FRAME(s) [+ RESULT]. False after sending ERROR.
  bool capture_group(uint16_t seq, uint8_t flags, uint8_t request_type);
  // Classifier input already filled: invoke and send RESULT. False after sending ERROR.
  bool infer_and_report(uint16_t seq, uint8_t request_type);
  void send_model_input_frame(uint16_t seq, int height, int width, int channels);
  void send_raw_frame(uint16_t seq);

  void send_info(uint16_t seq);
  void send_ack(uint16_t seq, uint8_t type);
  void send_error(uint16_t seq, ErrorCode code, uint8_t request_type, const char* text);
  uint16_t next_device_seq() { return device_seq_++; }

  // The model's input as H, W, C; false when its rank is not 3 or 4.
  bool model_hwc(int* h, int* w, int* c) const;
  // True when the camera pipeline can feed the model (an int8 input it supports, protocol section 5).
  bool pipeline_feeds_model() const;

  Transport& transport_;
  Classifier& classifier_;
  Platform& platform_;
  FrameDecoder decoder_;
  uint8_t* raw_;
  uint8_t* staging_;
  size_t staging_size_;
  bool have_set_frame_ = false;
  PipelineMode mode_ = PipelineMode::kDecimate;
  uint16_t device_seq_ = 0;
  uint64_t last_rx_us_ = 0;
  int person_index_ = -1;
  int8_t input_table_[256];  // pixel -> the model's int8 (build_input_table)

  bool streaming_ = false;
  uint8_t stream_flags_ = 0;
  uint32_t stream_remaining_ = 0;  // 0 = until STREAM_STOP
  uint64_t stream_interval_us_ = 0;
  uint64_t stream_next_us_ = 0;
  uint64_t stream_group_end_us_ = 0;  // when the previous group's last write returned

  uint32_t requests_ = 0;
  uint32_t errors_sent_ = 0;
};

}  // namespace vww

#endif  // VWW_CORE_COMMAND_LOOP_H_
