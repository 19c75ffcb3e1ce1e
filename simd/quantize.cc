#include "simd/quantize.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <tuple>
#include <utility>

#include "base/error.h"
#include "simd/half.h"

namespace dsv4::simd {
namespace {

// Squared error of one 32-block quantized with scale `d` (already f16-representable).
double q8_0_block_error(const float* x, float d) {
  const float id = d != 0.0f ? 1.0f / d : 0.0f;
  double err = 0;
  for (int j = 0; j < 32; ++j) {
    const float q = std::clamp(std::nearbyint(x[j] * id), -127.0f, 127.0f);
    const double diff = static_cast<double>(q) * d - x[j];
    err += diff * diff;
  }
  return err;
}

// Q8_0 with the scale chosen per block to minimise the squared error. Besides amax/127 and
// slightly smaller scales (which trade clipping of the largest value for finer steps), the
// candidates include the power of two just above amax/127: weights that came from FP8 (3-bit
// mantissas) are then exact wherever their exponent is within four binades of the block's
// largest, which removes about a third of the error on DeepSeek's FP8 weights.
void quantize_q8_0(const float* x, int64_t n, BlockQ8_0* out) {
  for (int64_t i = 0; i < n / 32; ++i) {
    const float* v = x + i * 32;
    float amax = 0.0f;
    for (int j = 0; j < 32; ++j) amax = std::max(amax, std::fabs(v[j]));
    float best_d = round_f16(amax / 127.0f);
    if (amax > 0.0f) {
      double best_err = q8_0_block_error(v, best_d);
      auto consider = [&](float candidate) {
        const float d = round_f16(candidate);
        if (d <= 0.0f || !std::isfinite(d)) return;
        const double err = q8_0_block_error(v, d);
        if (err < best_err) {
          best_err = err;
          best_d = d;
        }
      };
      for (int k = 1; k <= 20; ++k) consider(amax / 127.0f * (1.0f - 0.01f * k));
      int e = 0;
      std::frexp(amax / 127.0f, &e);
      consider(std::ldexp(1.0f, e));
    }
    out[i].d = f32_to_f16(best_d);
    const float id = best_d != 0.0f ? 1.0f / best_d : 0.0f;
    for (int j = 0; j < 32; ++j)
      out[i].qs[j] = static_cast<int8_t>(std::clamp(std::nearbyint(v[j] * id), -127.0f, 127.0f));
  }
}

void quantize_mxfp4(const float* x, int64_t n, BlockMxfp4* out) {
  for (int64_t i = 0; i < n / 32; ++i) {
    const float* v = x + i * 32;
    float amax = 0.0f;
    for (int j = 0; j < 32; ++j) amax = std::max(amax, std::fabs(v[j]));
    // Shared exponent per the OCP MX spec: floor(log2(amax)) minus E2M1's largest exponent (2).
    int e = 0;
    if (amax > 0.0f)
      e = std::clamp(static_cast<int>(std::floor(std::log2(amax))) - 2 + 127, 1, 254);
    out[i].e = static_cast<uint8_t>(e);
    const float d = e8m0_to_f32_half(out[i].e);
    // Nearest of the doubled E2M1 magnitudes {0,1,2,3,4,6,8,12}·d, ties to the smaller one
    // (as a search over the table in order finds); zero has the single code 0 and negative
    // values use codes 9..15.
    const float thresholds[7] = {0.5f * d, 1.5f * d, 2.5f * d, 3.5f * d,
                                 5.0f * d, 7.0f * d, 10.0f * d};
    auto nearest = [&thresholds](float value) {
      const float a = std::fabs(value);
      int magnitude = 0;
      while (magnitude < 7 && a > thresholds[magnitude]) ++magnitude;
      return static_cast<uint8_t>(magnitude == 0 ? 0 : magnitude + (value < 0 ? 8 : 0));
    };
    for (int j = 0; j < 16; ++j)
      out[i].qs[j] = static_cast<uint8_t>(nearest(v[j]) | (nearest(v[j + 16]) << 4));
  }
}

// Fits x ≈ scale·q − min with q in [0, nmax] and min ≥ 0 by alternating rounding and least
// squares, keeping the best of a few refinement rounds. Returns (scale, min).
std::pair<float, float> fit_affine(const float* x, int n, int nmax) {
  float lo = 0.0f, hi = 0.0f;
  for (int i = 0; i < n; ++i) {
    lo = std::min(lo, x[i]);
    hi = std::max(hi, x[i]);
  }
  if (hi <= lo) return {0.0f, -lo};
  float scale = (hi - lo) / static_cast<float>(nmax);
  float min = -lo;
  auto error = [&](float s, float m) {
    double err = 0;
    for (int i = 0; i < n; ++i) {
      const int q = s > 0 ? std::clamp(static_cast<int>(std::lround((x[i] + m) / s)), 0, nmax) : 0;
      const double diff = x[i] - (s * static_cast<float>(q) - m);
      err += diff * diff;
    }
    return err;
  };
  float best_scale = scale, best_min = min;
  double best_err = error(scale, min);
  for (int round = 0; round < 6; ++round) {
    double sq = 0, sqq = 0, sx = 0, sxq = 0;
    for (int i = 0; i < n; ++i) {
      const int q = std::clamp(static_cast<int>(std::lround((x[i] + min) / scale)), 0, nmax);
      sq += q;
      sqq += static_cast<double>(q) * q;
      sx += x[i];
      sxq += static_cast<double>(x[i]) * q;
    }
    const double det = n * sqq - sq * sq;
    if (det <= 0) break;
    double s = (n * sxq - sq * sx) / det;
    double m = (sq * sxq - sqq * sx) / det;  // x ≈ s·q − m
    if (m < 0) {                             // the format needs min ≥ 0: refit the scale alone
      m = 0;
      s = sqq > 0 ? sxq / sqq : 0;
    }
    if (s <= 0) break;
    scale = static_cast<float>(s);
    min = static_cast<float>(m);
    const double err = error(scale, min);
    if (err < best_err) {
      best_err = err;
      best_scale = scale;
      best_min = min;
    }
  }
  return {best_scale, best_min};
}

// Shared by Q4_K and Q2_K: per-sub-block (scale, min) quantized to `bits` against a
// super-block d / dmin.
struct SubBlockScales {
  float d = 0, dmin = 0;
  uint8_t scale[16] = {}, min[16] = {};
};

SubBlockScales quantize_scales(const float* scales, const float* mins, int count, int levels) {
  SubBlockScales out;
  float max_scale = 0, max_min = 0;
  for (int j = 0; j < count; ++j) {
    max_scale = std::max(max_scale, scales[j]);
    max_min = std::max(max_min, mins[j]);
  }
  out.d = round_f16(max_scale / static_cast<float>(levels));
  out.dmin = round_f16(max_min / static_cast<float>(levels));
  for (int j = 0; j < count; ++j) {
    out.scale[j] =
        out.d > 0
            ? static_cast<uint8_t>(std::clamp(std::lround(scales[j] / out.d), 0L, long(levels)))
            : 0;
    out.min[j] =
        out.dmin > 0
            ? static_cast<uint8_t>(std::clamp(std::lround(mins[j] / out.dmin), 0L, long(levels)))
            : 0;
  }
  return out;
}

uint8_t quantize_value(float x, float scale, float min, int nmax) {
  if (scale <= 0) return 0;
  return static_cast<uint8_t>(
      std::clamp(static_cast<int>(std::lround((x + min) / scale)), 0, nmax));
}

void quantize_q4_k(const float* x, int64_t n, BlockQ4_K* out) {
  for (int64_t i = 0; i < n / kQK; ++i) {
    const float* v = x + i * kQK;
    float scales[8], mins[8];
    for (int j = 0; j < 8; ++j) std::tie(scales[j], mins[j]) = fit_affine(v + 32 * j, 32, 15);
    const SubBlockScales q = quantize_scales(scales, mins, 8, 63);
    BlockQ4_K& b = out[i];
    std::memset(&b, 0, sizeof b);
    b.d = f32_to_f16(q.d);
    b.dmin = f32_to_f16(q.dmin);
    for (int j = 0; j < 4; ++j) {
      b.scales[j] = static_cast<uint8_t>(q.scale[j] | ((q.scale[j + 4] >> 4) << 6));
      b.scales[j + 4] = static_cast<uint8_t>(q.min[j] | ((q.min[j + 4] >> 4) << 6));
      b.scales[j + 8] = static_cast<uint8_t>((q.scale[j + 4] & 0xF) | ((q.min[j + 4] & 0xF) << 4));
    }
    for (int c = 0; c < 4; ++c) {
      const int lo = 2 * c, hi = 2 * c + 1;
      const float s_lo = q.d * q.scale[lo], m_lo = q.dmin * q.min[lo];
      const float s_hi = q.d * q.scale[hi], m_hi = q.dmin * q.min[hi];
      for (int l = 0; l < 32; ++l) {
        const uint8_t a = quantize_value(v[64 * c + l], s_lo, m_lo, 15);
        const uint8_t bq = quantize_value(v[64 * c + 32 + l], s_hi, m_hi, 15);
        b.qs[32 * c + l] = static_cast<uint8_t>(a | (bq << 4));
      }
    }
  }
}

void quantize_q2_k(const float* x, int64_t n, BlockQ2_K* out) {
  for (int64_t i = 0; i < n / kQK; ++i) {
    const float* v = x + i * kQK;
    float scales[16], mins[16];
    for (int s = 0; s < 16; ++s) std::tie(scales[s], mins[s]) = fit_affine(v + 16 * s, 16, 3);
    const SubBlockScales q = quantize_scales(scales, mins, 16, 15);
    BlockQ2_K& b = out[i];
    std::memset(&b, 0, sizeof b);
    b.d = f32_to_f16(q.d);
    b.dmin = f32_to_f16(q.dmin);
    for (int s = 0; s < 16; ++s) b.scales[s] = static_cast<uint8_t>(q.scale[s] | (q.min[s] << 4));
    // Element 128n + 32j + 16h + l lives in sub-block 8n + 2j + h, bits 2j of qs[32n + 16h + l].
    for (int n2 = 0; n2 < 2; ++n2)
      for (int j = 0; j < 4; ++j)
        for (int h = 0; h < 2; ++h) {
          const int s = 8 * n2 + 2 * j + h;
          const float scale = q.d * q.scale[s], min = q.dmin * q.min[s];
          for (int l = 0; l < 16; ++l) {
            const uint8_t qv = quantize_value(v[128 * n2 + 32 * j + 16 * h + l], scale, min, 3);
            b.qs[32 * n2 + 16 * h + l] |= static_cast<uint8_t>(qv << (2 * j));
          }
        }
  }
}

}  // namespace

void quantize_row(TensorType type, const float* src, int64_t n, void* dst) {
  const auto& traits = gguf::type_traits(type);
  if (n % traits.block_elems != 0)
    fail("quantizing ", n, " elements to ", gguf::type_name(type), ": not whole blocks");
  switch (type) {
    case TensorType::F32:
      std::memcpy(dst, src, static_cast<size_t>(n) * 4);
      break;
    case TensorType::F16: {
      auto* out = static_cast<uint16_t*>(dst);
      for (int64_t i = 0; i < n; ++i) out[i] = f32_to_f16(src[i]);
      break;
    }
    case TensorType::BF16: {
      auto* out = static_cast<uint16_t*>(dst);
      for (int64_t i = 0; i < n; ++i) out[i] = f32_to_bf16(src[i]);
      break;
    }
    case TensorType::Q8_0:
      quantize_q8_0(src, n, static_cast<BlockQ8_0*>(dst));
      break;
    case TensorType::Q2_K:
      quantize_q2_k(src, n, static_cast<BlockQ2_K*>(dst));
      break;
    case TensorType::Q4_K:
      quantize_q4_k(src, n, static_cast<BlockQ4_K*>(dst));
      break;
    case TensorType::MXFP4:
      quantize_mxfp4(src, n, static_cast<BlockMxfp4*>(dst));
      break;
    default:
      fail("no quantizer for tensor type ", gguf::type_name(type));
  }
}

bool repack_fp4_to_mxfp4(const uint8_t* packed, const uint8_t* scales, int64_t n, BlockMxfp4* out) {
  for (int64_t i = 0; i < n / 32; ++i) {
    if (scales[i] == 0xFF) return false;
    out[i].e = scales[i];
    const uint8_t* p = packed + i * 16;  // 16 bytes hold elements 32i .. 32i+31 in pairs
    for (int j = 0; j < 16; ++j) {
      // Element j comes from byte j/2 (low nibble if j even); element j+16 from byte 8 + j/2.
      const uint8_t lo = (p[j / 2] >> (4 * (j & 1))) & 0xF;
      const uint8_t hi = (p[8 + j / 2] >> (4 * (j & 1))) & 0xF;
      out[i].qs[j] = static_cast<uint8_t>(lo | (hi << 4));
    }
  }
  return true;
}

}  // namespace dsv4::simd
