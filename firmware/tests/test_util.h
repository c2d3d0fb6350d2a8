// Helpers shared by the host tests: hex, text-vector parsing, a decoder driver.
#ifndef VWW_TESTS_TEST_UTIL_H_
#define VWW_TESTS_TEST_UTIL_H_

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "framing.h"

namespace vwwtest {

using Bytes = std::vector<uint8_t>;

Bytes from_hex(const std::string& hex);  // "-" -> empty
std::string to_hex(const uint8_t* p, size_t n);
std::vector<std::string> split(const std::string& s, char sep);
std::vector<std::string> lines_of(const std::string& text);

struct Accepted {
  uint8_t type;
  uint16_t seq;
  uint32_t length;
  uint32_t payload_crc;
  bool operator==(const Accepted& o) const {
    return type == o.type && seq == o.seq && length == o.length && payload_crc == o.payload_crc;
  }
};

struct DecodeRun {
  std::vector<Accepted> frames;
  std::vector<vww::FrameHeader> bad_crc;
  std::vector<vww::FrameHeader> too_large;
  uint32_t rejected = 0;
  uint64_t garbage = 0;
  bool stalled = false;  // feed() took nothing and poll() found nothing: would hang a device
};

// Feeds `data` in pieces of `chunk` bytes (0 = random sizes from `seed`), then signals end of input (timeout).
DecodeRun run_decoder(const Bytes& data, size_t chunk, uint32_t accept_limit, uint32_t seed = 1);

}  // namespace vwwtest

#endif  // VWW_TESTS_TEST_UTIL_H_
