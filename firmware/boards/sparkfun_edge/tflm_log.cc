// TFLM's log hooks (tensorflow/lite/micro/debug_log.h) for the Edge, where nothing reads TFLM's messages: the
// UART carries only protocol frames and no log callback is registered. TFLM's cortex_m_generic debug_log.cc
// would format every message with newlib's vsnprintf before dropping it, which links about 20 KB of printf
// (floating point included) into flash. Defining both hooks here keeps that archive member out of the link.
#include "tensorflow/lite/micro/debug_log.h"

extern "C" void DebugLog(const char* /*format*/, va_list /*args*/) {}

extern "C" int DebugVsnprintf(char* buffer, size_t buf_size, const char* /*format*/, va_list /*vlist*/) {
  if (buf_size > 0) buffer[0] = '\0';
  return 0;
}
