// Pieces of the SparkFun Edge board layer shared between its source files (not part of board.h).
#ifndef VWW_EDGE_EDGE_H_
#define VWW_EDGE_EDGE_H_

#include <cstddef>
#include <cstdint>

namespace vww::edge {

// Console UART (UART0 on pins 48/49, the USB-serial header), interrupt-driven receive ring. The MLPerf Tiny
// build (-DVWW_APP_MLPERF) runs it at the 115200 baud the MLPerf Tiny runner uses.
#if defined(VWW_APP_MLPERF)
constexpr uint32_t kUartBaud = 115200;
#else
constexpr uint32_t kUartBaud = 921600;
#endif
void uart_init();
size_t uart_read(uint8_t* buf, size_t max);
void uart_write(const uint8_t* data, size_t n);

// 64-bit microsecond clock from the system timer (STIMER, 3 MHz from the HFRC).
void timer_init();
uint64_t micros();

// HM01B0 camera through the vendor driver (hm01b0.cc): I2C on IOM1, MCLK from CTimer 0 segment B, 8-bit
// parallel bus polled by the CPU.
constexpr int kFrameWidth = 324;
constexpr int kFrameHeight = 244;
constexpr uint16_t kHm01b0ModelId = 0x01B0;
// What the frame read counted: lines (HSYNC pulses), the fewest pixels (PCLK edges) on any line, the rows
// it stored, and when the frame started (VSYNC high), in micros().
struct FrameCounts {
  uint64_t start_us = 0;
  uint16_t lines = 0;
  uint16_t pixels_per_line = 0;
  uint16_t rows_stored = 0;
};
bool camera_init();                   // true when the sensor answers with its model ID after the vendor init script
bool camera_capture(uint8_t* frame);  // kFrameWidth * kFrameHeight bytes
// Self-test probes (see board.h); each restores the streaming configuration before returning.
bool camera_model_id(uint16_t* id);
bool camera_walking_ones(uint32_t frames, uint32_t mismatches[8], uint32_t* pixels);
bool camera_frame_timing(FrameCounts* last, uint32_t* fps_milli);
bool camera_exposure(bool* converged, uint8_t* mean, uint16_t* frames);

// Stack painted at boot (first thing in board::init) and scanned for its high-water mark; core clock
// measured with the DWT cycle counter against the STIMER (probes.cc).
void stack_paint();
void stack_usage(uint32_t* used, uint32_t* reserved);
bool measure_clock_hz(uint32_t* hz);

}  // namespace vww::edge

#endif  // VWW_EDGE_EDGE_H_
