#include "harness.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <vector>

namespace vwwtest {
namespace {

struct Entry {
  const char* name;
  TestFn fn;
};

std::vector<Entry>& registry() {
  static std::vector<Entry> r;
  return r;
}

int g_failures = 0;
const char* g_current = "";

}  // namespace

Registrar::Registrar(const char* name, TestFn fn) { registry().push_back({name, fn}); }

void fail(const char* file, int line, const std::string& what) {
  ++g_failures;
  if (g_failures <= 50) std::fprintf(stderr, "FAIL %s: %s:%d: %s\n", g_current, file, line, what.c_str());
}

std::string vectors_dir() {
  const char* v = std::getenv("VWW_VECTORS");
  std::string d = v ? v : "tests/vectors";
  if (!d.empty() && d.back() != '/') d += '/';
  return d;
}

std::string read_file(const std::string& path, bool* ok) {
  std::ifstream f(path, std::ios::binary);
  *ok = static_cast<bool>(f);
  if (!f) return {};
  return std::string(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
}

}  // namespace vwwtest

int main(int argc, char** argv) {
  const char* filter = argc > 1 ? argv[1] : "";
  int ran = 0, failed_tests = 0;
  for (const auto& e : vwwtest::registry()) {
    if (*filter && !std::strstr(e.name, filter)) continue;
    vwwtest::g_current = e.name;
    const int before = vwwtest::g_failures;
    try {
      e.fn();
    } catch (const vwwtest::Abort&) {
    }
    ++ran;
    const bool ok = vwwtest::g_failures == before;
    if (!ok) ++failed_tests;
    std::printf("%s %s\n", ok ? "ok  " : "FAIL", e.name);
  }
  std::printf("%d tests, %d failed, %d failed checks\n", ran, failed_tests, vwwtest::g_failures);
  if (ran == 0) {
    std::fprintf(stderr, "no test matches '%s'\n", filter);
    return 2;
  }
  return vwwtest::g_failures ? 1 : 0;
}
