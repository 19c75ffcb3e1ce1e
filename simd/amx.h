// Matrix products on Intel AMX tiles (bf16), for prefill on CPUs that have them. AMX is not a
// Highway target: this is x86-specific code behind a run-time check (CPUID and the kernel's
// permission to use tile data), used only where it measurably pays.
//
// Numerics: activations are split into bf16 hi + lo parts (≈16 significant bits together);
// weights are converted to bf16 exactly where bf16 holds them (MXFP4, BF16) and split the same
// way otherwise; the tile products accumulate in f32. The result is within ~1e-5 relative of
// the f32 product; it is not bit-identical to `matmul`, so only `--precision fast` uses it.
#pragma once

#include <cstdint>
#include <vector>

#include "simd/matmul.h"

namespace dsv4::simd {

// True when the CPU has AMX-BF16 and the kernel lets this process use tile data (asked for
// once, on the first call) and dispatch is not pinned below AVX3 (simd/targets.h).
// DSV4_NO_AMX=1 in the environment turns it off.
bool amx_available();

// Activations prepared once per product, already in the tile layout the products read: for
// each block of 16 tokens and 32 columns, 16 lines of 16 bf16 pairs (line k holds columns 2k
// and 2k+1 of each token), hi and lo parts apart. Tokens pad to 16 and columns to whole
// 256-blocks with zeros.
struct AmxInput {
  std::vector<uint16_t> hi, lo;
  int64_t tokens = 0, padded_tokens = 0, cols = 0, padded_cols = 0;
};

// Prepares token blocks [block_begin, block_end) of 16 tokens; `in` must have been sized by
// `size_amx_input` for the same x. Blocks are independent, so callers may split them across
// threads.
void size_amx_input(int64_t n_tokens, int64_t cols, AmxInput& in);
void prepare_amx_tokens(const float* x, int64_t x_stride, int64_t block_begin, int64_t block_end,
                        AmxInput& in);
// Both steps for all tokens, on the calling thread.
void prepare_amx_input(const float* x, int64_t x_stride, int64_t n_tokens, int64_t cols,
                       AmxInput& out);

// y[t·y_stride + r] = W[r] · x[t] for rows [row_begin, row_end) (any count; the caller splits
// rows across threads, best in multiples of 32). Requires amx_available() and a column count
// (w.cols == in.cols) that is a multiple of 32.

void matmul_amx(const MatrixView& w, const AmxInput& in, float* y, int64_t y_stride,
                int64_t row_begin, int64_t row_end);

// The tile unit's peak, for bench/: `steps` rounds of four bf16 tile products (16 × 16 × 32
// multiply-adds each) on tiles that stay loaded, so only the multiplier is timed. Returns the
// multiply-adds done (steps × 32768). Requires amx_available().
int64_t amx_peak_probe(int64_t steps);

}  // namespace dsv4::simd
