// UART0 console at 921600 8N1 on the Edge's serial header (TX 48, RX 49), using the HAL's
// buffered mode: the UART interrupt moves received bytes into a RAM queue so that a whole request
// frame can arrive while the core is busy running an inference.
#include "edge.h"
#include "sdk.h"

namespace vww::edge {
namespace {

void* g_uart = nullptr;
// 16 KiB holds any request the host sends while waiting for an answer (an INFER of a 96x96x3
// image is under 28 KiB but is read by the core as it arrives; requests are not queued deeper).
uint8_t g_rx_queue[16 * 1024];
uint8_t g_tx_queue[2 * 1024];

}  // namespace

void uart_init() {
  const am_hal_uart_config_t config = {
      .ui32BaudRate = kUartBaud,
      .ui32DataBits = AM_HAL_UART_DATA_BITS_8,
      .ui32Parity = AM_HAL_UART_PARITY_NONE,
      .ui32StopBits = AM_HAL_UART_ONE_STOP_BIT,
      .ui32FlowControl = AM_HAL_UART_FLOW_CTRL_NONE,
      .ui32FifoLevels = AM_HAL_UART_TX_FIFO_1_2 | AM_HAL_UART_RX_FIFO_1_2,
      .pui8TxBuffer = g_tx_queue,
      .ui32TxBufferSize = sizeof(g_tx_queue),
      .pui8RxBuffer = g_rx_queue,
      .ui32RxBufferSize = sizeof(g_rx_queue),
  };
  am_hal_uart_initialize(0, &g_uart);
  am_hal_uart_power_control(g_uart, AM_HAL_SYSCTRL_WAKE, false);
  am_hal_uart_configure(g_uart, &config);
  am_hal_gpio_pinconfig(AM_BSP_GPIO_COM_UART_TX, g_AM_BSP_GPIO_COM_UART_TX);
  am_hal_gpio_pinconfig(AM_BSP_GPIO_COM_UART_RX, g_AM_BSP_GPIO_COM_UART_RX);
  am_hal_uart_interrupt_enable(g_uart, AM_HAL_UART_INT_RX | AM_HAL_UART_INT_RX_TMOUT);
  NVIC_EnableIRQ(UART0_IRQn);
}

size_t uart_read(uint8_t* buf, size_t max) {
  uint32_t got = 0;
  am_hal_uart_transfer_t read = {
      .ui32Direction = AM_HAL_UART_READ,
      .pui8Data = buf,
      .ui32NumBytes = static_cast<uint32_t>(max),
      .ui32TimeoutMs = 0,  // only what is already queued: never block the command loop
      .pui32BytesTransferred = &got,
  };
  am_hal_uart_transfer(g_uart, &read);
  return got;
}

void uart_write(const uint8_t* data, size_t n) {
  uint32_t sent = 0;
  am_hal_uart_transfer_t write = {
      .ui32Direction = AM_HAL_UART_WRITE,
      .pui8Data = const_cast<uint8_t*>(data),
      .ui32NumBytes = static_cast<uint32_t>(n),
      .ui32TimeoutMs = AM_HAL_UART_WAIT_FOREVER,
      .pui32BytesTransferred = &sent,
  };
  am_hal_uart_transfer(g_uart, &write);
}

}  // namespace vww::edge

extern "C" void am_uart_isr() {
  uint32_t status = 0;
  uint32_t idle = 0;
  am_hal_uart_interrupt_status_get(vww::edge::g_uart, &status, true);
  am_hal_uart_interrupt_clear(vww::edge::g_uart, status);
  am_hal_uart_interrupt_service(vww::edge::g_uart, status, &idle);
}
