// CRC-16/CCITT-FALSE (frame header) and CRC-32/IEEE (whole frame), docs/protocol.md section 1.
#ifndef VWW_CORE_CRC_H_
#define VWW_CORE_CRC_H_

#include <cstddef>
#include <cstdint>

namespace vww {

// Poly 0x1021, init 0xFFFF, no reflection, no final XOR. "123456789" -> 0x29B1.
uint16_t crc16_ccitt_false(const uint8_t* data, size_t n, uint16_t crc = 0xFFFF);

// zlib's crc32: pass the previous return value as `crc` to continue over several pieces.
// "123456789" -> 0xCBF43926.
uint32_t crc32(const uint8_t* data, size_t n, uint32_t crc = 0);

}  // namespace vww

#endif  // VWW_CORE_CRC_H_
