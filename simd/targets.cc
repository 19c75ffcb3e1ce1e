#include "simd/targets.h"

#include <algorithm>
#include <cctype>
#include <cstdlib>

#include "base/error.h"
#include "hwy/targets.h"

namespace dsv4::simd {
namespace {

std::string upper(std::string s) {
  for (char& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

}  // namespace

std::vector<std::string> compiled_targets() {
  // HWY_TARGETS is the same in every translation unit of the library (one set of flags), and
  // Highway gives a better target a lower bit.
  std::vector<std::string> names;
  for (int64_t bits = HWY_TARGETS; bits != 0; bits &= bits - 1)
    names.emplace_back(hwy::TargetName(bits & -bits));
  return names;
}

std::vector<std::string> available_targets() {
  std::vector<int64_t> targets = hwy::SupportedAndGeneratedTargets();
  // Highway orders target bits so that a smaller value is a better target.
  std::sort(targets.begin(), targets.end());
  std::vector<std::string> names;
  for (int64_t t : targets) names.emplace_back(hwy::TargetName(t));
  return names;
}

std::string active_target() {
  const std::vector<std::string> names = available_targets();
  return names.empty() ? "none" : names.front();
}

void pin_target(const std::string& name) {
  for (int64_t t : hwy::SupportedAndGeneratedTargets()) {
    if (upper(name) == hwy::TargetName(t)) {
      hwy::SetSupportedTargetsForTest(t);
      return;
    }
  }
  std::string list;
  for (const std::string& n : available_targets()) list += (list.empty() ? "" : ", ") + n;
  fail_usage("SIMD target '", name, "' is not available here (available: ", list, ")");
}

void pin_target_from_environment() {
  if (const char* env = std::getenv("DSV4_TARGET"); env != nullptr && *env != '\0') pin_target(env);
}

}  // namespace dsv4::simd
