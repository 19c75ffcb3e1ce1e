// The SIMD targets compiled into the binary, the one in use, and pinning to a weaker one
// (`--target`, or DSV4_TARGET), e.g. to reproduce an AVX2 machine's results bit for bit on
// an AVX-512 machine, or to see what each level of SIMD buys.
#pragma once

#include <string>
#include <vector>

namespace dsv4::simd {

// Names of the targets compiled into the binary, best first, whether or not this CPU has them.
std::vector<std::string> compiled_targets();
// Names of targets compiled in and supported by this CPU, best first ("AVX3_DL", "AVX2", ...);
// after pin_target, only the pinned one.
std::vector<std::string> available_targets();
// Name of the target dispatch currently uses.
std::string active_target();
// Restricts dispatch to `name` (case-insensitive); throws a UsageError listing the available
// targets when it is unknown or unsupported here.
void pin_target(const std::string& name);
// Applies DSV4_TARGET from the environment when set.
void pin_target_from_environment();

}  // namespace dsv4::simd
