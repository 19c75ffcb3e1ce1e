// Runs a test body once per SIMD target compiled into the binary and supported by this CPU
// (Highway's SetSupportedTargetsForTest), so every dispatched kernel is exercised.
#pragma once

#include <doctest/doctest.h>

#include <string>

#include "hwy/targets.h"

namespace dsv4::testing {

template <class Body>
void for_each_target(Body body) {
  int count = 0;
  for (int64_t target : hwy::SupportedAndGeneratedTargets()) {
    hwy::SetSupportedTargetsForTest(target);
    const std::string name = hwy::TargetName(target);
    CAPTURE(name);
    body(name);
    ++count;
  }
  hwy::SetSupportedTargetsForTest(0);
  CHECK(count >= 1);
}

}  // namespace dsv4::testing
