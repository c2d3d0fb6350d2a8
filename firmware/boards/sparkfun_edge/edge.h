// Pieces of the SparkFun Edge board layer shared between its source files (not part of board.h).
#ifndef VWW_EDGE_EDGE_H_
#define VWW_EDGE_EDGE_H_

#include <cstddef>
#include <cstdint>

namespace vww::edge {

// Console UART (UART0 on pins 48/49, the USB-serial header), interrupt-driven receive ring.
constexpr uint32_t kUartBaud = 921600;
void uart_init();
size_t uart_read(uint8_t* buf, size_t max);
void uart_write(const uint8_t* data, size_t n);

// 64-bit microsecond clock from the system timer (STIMER, 3 MHz from the HFRC).
void timer_init();
uint64_t micros();

// HM01B0 camera: I2C on IOM1, MCLK from CTimer 0 segment B, 8-bit parallel bus polled by the CPU.
bool camera_init();
bool camera_capture(uint8_t* frame);  // kFrameWidth * kFrameHeight bytes
constexpr int kFrameWidth = 324;
constexpr int kFrameHeight = 244;

}  // namespace vww::edge

#endif  // VWW_EDGE_EDGE_H_
