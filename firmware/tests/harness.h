// A minimal test harness (no external framework): TEST(name) registers a function, CHECK* record failures
// with file:line and carry on, REQUIRE* stop the current test. main() in harness.cc runs every test whose
// name contains argv[1] (all when absent) and exits non-zero on any failure.
#ifndef VWW_TESTS_HARNESS_H_
#define VWW_TESTS_HARNESS_H_

#include <cstdint>
#include <sstream>
#include <string>

namespace vwwtest {

using TestFn = void (*)();
struct Registrar {
  Registrar(const char* name, TestFn fn);
};
void fail(const char* file, int line, const std::string& what);
struct Abort {};  // thrown by REQUIRE to leave the current test

// The directory holding tests/vectors (from $VWW_VECTORS), with a trailing slash.
std::string vectors_dir();
std::string read_file(const std::string& path, bool* ok);

template <typename A, typename B>
std::string describe(const char* ea, const char* eb, const A& a, const B& b) {
  std::ostringstream s;
  s << ea << " == " << eb << " failed: " << +a << " vs " << +b;
  return s.str();
}

}  // namespace vwwtest

#define TEST(name)                                                 \
  static void test_##name();                                       \
  static vwwtest::Registrar registrar_##name(#name, &test_##name); \
  static void test_##name()

#define CHECK(cond)                                                                      \
  do {                                                                                   \
    if (!(cond)) vwwtest::fail(__FILE__, __LINE__, std::string("CHECK(") + #cond + ")"); \
  } while (0)

#define CHECK_EQ(a, b)                                                                         \
  do {                                                                                         \
    const auto& va_ = (a);                                                                     \
    const auto& vb_ = (b);                                                                     \
    if (!(va_ == vb_)) vwwtest::fail(__FILE__, __LINE__, vwwtest::describe(#a, #b, va_, vb_)); \
  } while (0)

#define REQUIRE(cond)                                                           \
  do {                                                                          \
    if (!(cond)) {                                                              \
      vwwtest::fail(__FILE__, __LINE__, std::string("REQUIRE(") + #cond + ")"); \
      throw vwwtest::Abort{};                                                   \
    }                                                                           \
  } while (0)

#define CHECK_MSG(cond, msg)                                                                       \
  do {                                                                                             \
    if (!(cond)) vwwtest::fail(__FILE__, __LINE__, std::string("CHECK(") + #cond + "): " + (msg)); \
  } while (0)

#endif  // VWW_TESTS_HARNESS_H_
