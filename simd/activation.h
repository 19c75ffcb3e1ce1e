// Elementwise activations built on e^x, vectorised; e^x is the correctly rounded float but in
// near-ties.
#pragma once

#include <cstdint>

namespace dsv4::simd {

// out[i] = (silu(min(gate[i], clamp)) · clamp(up[i], −clamp, clamp)) · scale, with
// silu(x) = x·σ(x) and σ taken from e^(−|x|) as the scalar `sigmoid` does. An infinite clamp
// clamps nothing. out may alias gate or up.
void swiglu(const float* gate, const float* up, int64_t n, float clamp, float scale, float* out);

// x[i] = e^(x[i] − shift) for every i; returns the sum of the new values (in vector lanes, not
// index order). Every x[i] must be at most shift (a softmax's maximum), so that none overflows.
float exp_shifted_sum(float* x, int64_t n, float shift);

}  // namespace dsv4::simd
