// Compile-only check that board.h declares exactly the interface the board layers implement
// (helper-briefs/interfaces.md). A change here breaks every board: change it deliberately or not at all.
#include <type_traits>

#include "board.h"

namespace b = vww::board;

static_assert(std::is_same_v<decltype(&b::init), void (*)()>);
static_assert(std::is_same_v<decltype(&b::uart_read), size_t (*)(uint8_t*, size_t)>);
static_assert(std::is_same_v<decltype(&b::uart_write), void (*)(const uint8_t*, size_t)>);
static_assert(std::is_same_v<decltype(&b::micros), uint64_t (*)()>);
static_assert(std::is_same_v<decltype(&b::instruction_count), uint64_t (*)()>);
static_assert(std::is_same_v<decltype(&b::camera_available), bool (*)()>);
static_assert(std::is_same_v<decltype(&b::camera_capture), bool (*)(uint8_t*)>);
static_assert(std::is_same_v<decltype(&b::led), void (*)(b::Led, bool)>);
static_assert(std::is_same_v<decltype(&b::name), const char* (*)()>);
static_assert(std::is_same_v<decltype(&b::clock_hz), uint32_t (*)()>);
static_assert(std::is_same_v<decltype(&b::camera_model_id), bool (*)(uint16_t*)>);
static_assert(std::is_same_v<decltype(&b::camera_walking_ones), bool (*)(uint32_t, uint32_t*, uint32_t*)>);
static_assert(std::is_same_v<decltype(&b::camera_frame_timing), bool (*)(b::FrameTiming*)>);
static_assert(std::is_same_v<decltype(&b::camera_exposure), bool (*)(b::Exposure*)>);
static_assert(std::is_same_v<decltype(&b::measured_clock_hz), bool (*)(uint32_t*)>);
static_assert(std::is_same_v<decltype(&b::stack_usage), bool (*)(uint32_t*, uint32_t*)>);
static_assert(std::is_same_v<decltype(b::FrameTiming::fps_milli), uint32_t> &&
              std::is_same_v<decltype(b::FrameTiming::pixels_per_line), uint16_t> &&
              std::is_same_v<decltype(b::FrameTiming::lines_per_frame), uint16_t>);
static_assert(std::is_same_v<decltype(b::Exposure::converged), bool> &&
              std::is_same_v<decltype(b::Exposure::mean), uint8_t> &&
              std::is_same_v<decltype(b::Exposure::frames_waited), uint16_t>);
static_assert(std::is_same_v<decltype(&vww::app_main), void (*)()>);
static_assert(std::is_enum_v<b::Led> && !std::is_convertible_v<b::Led, int>, "Led is an enum class");
static_assert(static_cast<int>(b::Led::kHeartbeat) == 0 && static_cast<int>(b::Led::kPerson) == 1 &&
              static_cast<int>(b::Led::kNoPerson) == 2 && static_cast<int>(b::Led::kError) == 3);
