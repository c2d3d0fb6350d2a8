// Int8 convolution kernels for `vwwdeploy firmware build --kernels generated`
// (vwwdeploy/model/kernels/generate.py writes one call per covered layer with
// its shapes, firmware/kernels/vww_tflm_kernels.cc registers them with TFLM).
// One template instance per kernel kind, depth and requantization mode (the
// depth sets the immediate offsets of the loads); everything else is a run-time
// shape. The weights and bias are the model's, read in place; the per-channel
// multipliers and shifts are TFLM's own, from prepare (in the arena).
//
// Bit-exact with TFLM's reference kernels
// (reference_integer_ops::ConvPerChannel and DepthwiseConvPerChannel): the
// accumulator is the same integer, and requantize() computes
// MultiplyByQuantizedMultiplier (double rounding) + output offset + activation
// clamp exactly:
//   SaturatingRoundingDoublingHighMul(a, m) = (a*m + 2^30) >> 31 for every a, m
//   but a = m = INT32_MIN (m > 0 here), = SMMULR(2a, m) whenever 2a fits in 32
//   bits, which the generator proves per layer from the weights and bias (|acc|
//   <= |bias| + 255 * sum|w|); RoundingDivideByPOT(v, r) = (v + 2^(r-1) - (v <
//   0)) >> r, and the output offset is folded in as zp << r. When the
//   activation's lower bound is the output zero point (ReLU, ReLU6), any v < 0
//   ends at that bound with or without the "- (v < 0)" tie correction, so those
//   layers skip it.
// The input offset: 1x1 adds it to the widened input (once per pixel, shared
// by all output channels); depthwise folds it into a stack copy of the bias,
// and padded taps read the input zero point, whose product with the folded
// weights is exactly the reference's skipped tap.
#ifndef VWW_KERNELS_VWW_KERNEL_LIB_H_
#define VWW_KERNELS_VWW_KERNEL_LIB_H_

#include <cstdint>
#include <cstring>
#include <utility>

#include "vww_kernels.h"

#if defined(__ARM_FEATURE_DSP)
#include <arm_acle.h>
#endif

namespace vww_kernels {

#define VWW_ALWAYS_INLINE inline __attribute__((always_inline))

// --- the DSP instructions used, with portable equivalents for the host tests
// ----------------------
#if defined(__ARM_FEATURE_DSP)
inline int32_t sxtb16(uint32_t x) { return static_cast<int32_t>(__sxtb16(x)); }
inline int32_t sxtb16_ror8(uint32_t x) {
  int32_t r;
  __asm__("sxtb16 %0, %1, ror #8" : "=r"(r) : "r"(x));
  return r;
}
inline int32_t smlad(int32_t a, int32_t b, int32_t acc) { return __smlad(a, b, acc); }
inline int32_t sadd16(int32_t a, int32_t b) { return static_cast<int32_t>(__sadd16(a, b)); }
inline int32_t smlabb(int32_t a, int32_t b, int32_t acc) { return __smlabb(a, b, acc); }
inline int32_t smlatt(int32_t a, int32_t b, int32_t acc) { return __smlatt(a, b, acc); }
inline int32_t pack_lo(int32_t lo, int32_t hi) {
  int32_t r;
  __asm__("pkhbt %0, %1, %2, lsl #16" : "=r"(r) : "r"(lo), "r"(hi));
  return r;
}
inline int32_t smmulr(int32_t a, int32_t b) {
  int32_t r;
  __asm__("smmulr %0, %1, %2" : "=r"(r) : "r"(a), "r"(b));
  return r;
}
template <int kBits>
inline int32_t ssat(int32_t x) {
  return __ssat(x, kBits);
}
#else
inline int32_t lo16(int32_t x) { return static_cast<int16_t>(static_cast<uint32_t>(x) & 0xFFFFu); }
inline int32_t hi16(int32_t x) { return static_cast<int16_t>(static_cast<uint32_t>(x) >> 16); }
inline int32_t pack16(int32_t lo, int32_t hi) {
  return static_cast<int32_t>((static_cast<uint32_t>(lo) & 0xFFFFu) | (static_cast<uint32_t>(hi) << 16));
}
inline int32_t sxtb16(uint32_t x) {
  return pack16(static_cast<int8_t>(x & 0xFFu), static_cast<int8_t>((x >> 16) & 0xFFu));
}
inline int32_t sxtb16_ror8(uint32_t x) { return sxtb16((x >> 8) | (x << 24)); }
inline int32_t smlad(int32_t a, int32_t b, int32_t acc) {
  return static_cast<int32_t>(static_cast<uint32_t>(acc) + static_cast<uint32_t>(lo16(a) * lo16(b)) +
                              static_cast<uint32_t>(hi16(a) * hi16(b)));
}
inline int32_t smlabb(int32_t a, int32_t b, int32_t acc) { return acc + lo16(a) * lo16(b); }
inline int32_t sadd16(int32_t a, int32_t b) { return pack16(lo16(a) + lo16(b), hi16(a) + hi16(b)); }
inline int32_t smlatt(int32_t a, int32_t b, int32_t acc) { return acc + hi16(a) * hi16(b); }
inline int32_t pack_lo(int32_t lo, int32_t hi) { return pack16(lo, hi); }
inline int32_t smmulr(int32_t a, int32_t b) {
  return static_cast<int32_t>((static_cast<int64_t>(a) * b + 0x80000000LL) >> 32);
}
template <int kBits>
inline int32_t ssat(int32_t x) {
  const int32_t hi = (1 << (kBits - 1)) - 1, lo = -(1 << (kBits - 1));
  return x < lo ? lo : (x > hi ? hi : x);
}
#endif

inline uint32_t load32(const int8_t* p) {
  uint32_t v;
  std::memcpy(&v, p, 4);  // one LDR: the Cortex-M4 allows unaligned word loads
  return v;
}

// Requantization modes, chosen per layer by the generator.
constexpr int kTieCorrection = 1;   // the activation's lower bound is below the output zero point
constexpr int kWide = 2;            // |acc| may reach 2^30: the high multiply in 64 bits instead of SMMULR
constexpr int kSeparateOffset = 4;  // zp * 2^r does not fit 32 bits: add the output offset after the shift
constexpr int kWideRounding = 8;    // v + 2^(r-1) may overflow 32 bits: that sum and the shift in 64 bits
constexpr int kFullRange = 16;      // the activation clamps to [-128, 127]: one SSAT
constexpr int kNoLeftShift = 32;    // no channel's multiplier shifts left (the usual case): fewer instructions

// One output channel's requantization, derived from TFLM's multiplier and
// shift (computed by prepare, kept in the arena: no table in flash): the log2
// of the factor applied before the multiplier (2^(left shift + 1) for SMMULR,
// 2^left shift in kWide mode), the rounding right shift and its addend
// (2^(r-1), plus zp * 2^r unless kSeparateOffset).
struct Requant {
  int32_t multiplier;
  int32_t addend;
  int32_t pre_shift;
  int32_t right_shift;
};

template <int kMode>
VWW_ALWAYS_INLINE Requant channel_requant(int32_t multiplier, int32_t shift, int32_t output_zero_point) {
  int32_t left, right;
  if (kMode & kNoLeftShift) {
    left = 0;
    right = -shift;
  } else {
    left = shift > 0 ? shift : 0;
    right = shift > 0 ? 0 : -shift;
  }
  // ((2 zp + 1) << r) >> 1 is zp << r plus 2^(r-1) for r > 0, and zp for r = 0,
  // in two instructions; the generator proves (2 zp + 1) << r fits 32 bits.
  const int32_t addend = (kMode & kSeparateOffset)
                             ? static_cast<int32_t>((1u << right) >> 1)
                             : static_cast<int32_t>(static_cast<uint32_t>(2 * output_zero_point + 1) << right) >> 1;
  return {multiplier, addend, (kMode & kWide) ? left : left + 1, right};
}

// The activation range of a layer whose mode lacks kFullRange.
struct Clamp {
  int32_t min, max;
};

template <int kMode>
VWW_ALWAYS_INLINE int8_t requantize(int32_t acc, const Requant& q, int32_t output_zero_point, Clamp clamp) {
  int32_t v;
  if (kMode & kWide) {
    v = static_cast<int32_t>(
        (static_cast<int64_t>(static_cast<int32_t>(static_cast<uint32_t>(acc) << q.pre_shift)) * q.multiplier +
         (1LL << 30)) >>
        31);
  } else {
    v = smmulr(static_cast<int32_t>(static_cast<uint32_t>(acc) << q.pre_shift), q.multiplier);
  }
  if (kMode & kTieCorrection) {
    v -= static_cast<int32_t>(static_cast<uint32_t>(v) >> 31) & (q.right_shift > 0 ? 1 : 0);
  }
  if (kMode & kWideRounding) {
    v = static_cast<int32_t>((static_cast<int64_t>(v) + q.addend) >> q.right_shift);
  } else {
    v = (v + q.addend) >> q.right_shift;
  }
  if (kMode & kSeparateOffset) v += output_zero_point;
  if (kMode & kFullRange) return static_cast<int8_t>(ssat<8>(v));
  v = v < clamp.min ? clamp.min : v;
  v = v > clamp.max ? clamp.max : v;
  return static_cast<int8_t>(v);
}

// What one layer's shapes are at run time. One kernel instance serves every
// layer of the same depth and mode (flash: per-layer instances were most of
// what the kernels added).
struct Conv1x1Shape {
  int32_t pixels, out_channels, input_zero_point, output_zero_point;
  Clamp clamp;
};

struct DepthwiseShape {
  int32_t in_h, in_w, out_h, out_w, stride, pad_top, pad_left, input_zero_point, output_zero_point;
  Clamp clamp;
};

// One step of a 2-pixel x 2-channel dot product over 4 input channels: the
// int16 pairs of both pixels at x + 16 * kStep bytes (pixel 0's (c0, c2), (c1,
// c3), then pixel 1's), the model's own int8 weights of channel 0 at w + 4 *
// kStep, of channel 1 kDepth bytes further, widened here with SXTB16 (so the
// weights are stored once, in the model). Written in assembly because GCC
// otherwise keeps the expanded pixels in (spilled) registers and never pairs
// the loads: 2 LDRD + 2 LDR + 4 SXTB16 + 8 SMLAD for 16 multiply-accumulates.
#if defined(__ARM_FEATURE_DSP)
template <int kStep, int kDepth>
VWW_ALWAYS_INLINE void step2x2(const int32_t* x, const int8_t* w, int32_t& a00, int32_t& a01, int32_t& a10,
                               int32_t& a11) {
  int32_t x0, x1, y0, y1, w0, r;
  __asm__(
      "ldrd %[x0], %[x1], [%[x], %[o0]]\n\t"
      "ldrd %[y0], %[y1], [%[x], %[o1]]\n\t"
      "ldr %[r], [%[w], %[ow0]]\n\t"
      "sxtb16 %[w0], %[r]\n\t"
      "sxtb16 %[r], %[r], ror #8\n\t"
      "smlad %[a00], %[x0], %[w0], %[a00]\n\t"
      "smlad %[a00], %[x1], %[r], %[a00]\n\t"
      "smlad %[a10], %[y0], %[w0], %[a10]\n\t"
      "smlad %[a10], %[y1], %[r], %[a10]\n\t"
      "ldr %[r], [%[w], %[ow1]]\n\t"
      "sxtb16 %[w0], %[r]\n\t"
      "sxtb16 %[r], %[r], ror #8\n\t"
      "smlad %[a01], %[x0], %[w0], %[a01]\n\t"
      "smlad %[a01], %[x1], %[r], %[a01]\n\t"
      "smlad %[a11], %[y0], %[w0], %[a11]\n\t"
      "smlad %[a11], %[y1], %[r], %[a11]"
      : [a00] "+r"(a00), [a01] "+r"(a01), [a10] "+r"(a10), [a11] "+r"(a11), [x0] "=&r"(x0), [x1] "=&r"(x1),
        [y0] "=&r"(y0), [y1] "=&r"(y1), [w0] "=&r"(w0), [r] "=&r"(r)
      : [x] "r"(x), [w] "r"(w), [o0] "I"(16 * kStep), [o1] "I"(16 * kStep + 8), [ow0] "I"(4 * kStep),
        [ow1] "I"(4 * kStep + kDepth)
      : "memory");
}
#else
template <int kStep, int kDepth>
VWW_ALWAYS_INLINE void step2x2(const int32_t* x, const int8_t* w, int32_t& a00, int32_t& a01, int32_t& a10,
                               int32_t& a11) {
  const int32_t* p = x + 4 * kStep;
  const uint32_t r0 = load32(w + 4 * kStep), r1 = load32(w + 4 * kStep + kDepth);
  a00 = smlad(p[1], sxtb16_ror8(r0), smlad(p[0], sxtb16(r0), a00));
  a10 = smlad(p[3], sxtb16_ror8(r0), smlad(p[2], sxtb16(r0), a10));
  a01 = smlad(p[1], sxtb16_ror8(r1), smlad(p[0], sxtb16(r1), a01));
  a11 = smlad(p[3], sxtb16_ror8(r1), smlad(p[2], sxtb16(r1), a11));
}
#endif

template <int kDepth, int... kSteps>
VWW_ALWAYS_INLINE void steps2x2(const int32_t* x, const int8_t* w, int32_t& a00, int32_t& a01, int32_t& a10,
                                int32_t& a11, std::integer_sequence<int, kSteps...>) {
  (step2x2<kSteps, kDepth>(x, w, a00, a01, a10, a11), ...);
}

// The depth in chunks of kChunk steps (immediate offsets inside a chunk, one
// pointer update per chunk), then the remaining steps: a loop over the depth
// instead of the depth unrolled, for flash.
template <int kDepth>
VWW_ALWAYS_INLINE void dot2x2(const int32_t* x, const int8_t* w, int32_t& a00, int32_t& a01, int32_t& a10,
                              int32_t& a11) {
  constexpr int kChunk = 4, kSteps = kDepth / 4;
  for (int g = 0; g < kSteps / kChunk; ++g, x += 4 * kChunk, w += 4 * kChunk) {
    steps2x2<kDepth>(x, w, a00, a01, a10, a11, std::make_integer_sequence<int, kChunk>());
  }
  steps2x2<kDepth>(x, w, a00, a01, a10, a11, std::make_integer_sequence<int, kSteps % kChunk>());
}

// Sign-extends two pixels of kDepth int8 values into int16 pairs with the input
// offset added (x - zp fits 16 bits: the model's bias is used as it is), per 4
// channels pixel 0's (x0, x2), (x1, x3), then pixel 1's: the order SXTB16 and
// SXTB16 ROR 8 widen 4 weights into. Pixel 1 may be pixel 0 (odd pixel count).
template <int kDepth>
VWW_ALWAYS_INLINE void expand2(const int8_t* in0, const int8_t* in1, int32_t* out, int32_t offset_pair) {
#pragma GCC unroll 2
  for (int g = 0; g < kDepth / 4; ++g, out += 4) {
    const uint32_t r0 = load32(in0 + 4 * g), r1 = load32(in1 + 4 * g);
    out[0] = sadd16(sxtb16(r0), offset_pair);
    out[1] = sadd16(sxtb16_ror8(r0), offset_pair);
    out[2] = sadd16(sxtb16(r1), offset_pair);
    out[3] = sadd16(sxtb16_ror8(r1), offset_pair);
  }
}

// 1x1 convolution, stride 1, no padding: out[p][k] = requant(bias[k] + sum_c
// (in[p][c] - zp) * w[k][c]). kDepth % 4 == 0, out channels % 2 == 0. Weights:
// the model's int8 filter, [out][in]. Two pixels at a time are sign-extended
// once, then every output channel pair reads them with LDRD; an odd last pixel
// is computed as a pair with itself (its second result discarded).
template <int kDepth, int kMode>
void conv1x1(const Conv1x1Shape& s, const KernelArgs& a) {
  static_assert(kDepth % 4 == 0 && kDepth + 12 <= 4095, "generator checks these");
  alignas(8) int32_t x[kDepth];  // two pixels of kDepth int16 values
  const int32_t offset_pair = pack_lo(-s.input_zero_point, -s.input_zero_point);
  const int32_t zp = s.output_zero_point;
  for (int p = 0; p < s.pixels; p += 2) {
    const bool pair = p + 1 < s.pixels;
    const int8_t* in0 = a.input + p * kDepth;
    expand2<kDepth>(in0, pair ? in0 + kDepth : in0, x, offset_pair);
    int8_t* o0 = a.output + p * s.out_channels;
    const int8_t* wk = a.filter;
    for (int k = 0; k < s.out_channels; k += 2, wk += 2 * kDepth) {
      int32_t a00 = a.bias[k], a01 = a.bias[k + 1], a10 = a00, a11 = a01;
      dot2x2<kDepth>(x, wk, a00, a01, a10, a11);
      const Requant q0 = channel_requant<kMode>(a.multiplier[k], a.shift[k], zp);
      const Requant q1 = channel_requant<kMode>(a.multiplier[k + 1], a.shift[k + 1], zp);
      o0[k] = requantize<kMode>(a00, q0, zp, s.clamp);
      o0[k + 1] = requantize<kMode>(a01, q1, zp, s.clamp);
      if (pair) {
        o0[s.out_channels + k] = requantize<kMode>(a10, q0, zp, s.clamp);
        o0[s.out_channels + k + 1] = requantize<kMode>(a11, q1, zp, s.clamp);
      }
    }
  }
}

// One tap of a 3x3 depthwise convolution over 4 channels: the input word at
// byte offset kX, the model's 4 int8 weights at byte offset kW, both widened
// with SXTB16 / SXTB16 ROR 8 into (c0, c2), (c1, c3); 2 LDR, 4 SXTB16, 4 SMLAxy
// (assembly for the same reason as step2x2).
#if defined(__ARM_FEATURE_DSP)
template <int kX, int kW>
VWW_ALWAYS_INLINE void dw_tap(const int8_t* x, const int8_t* w, int32_t& a0, int32_t& a1, int32_t& a2, int32_t& a3) {
  int32_t r, e, o, w0, w1;
  __asm__(
      "ldr %[r], [%[x], %[ox]]\n\t"
      "ldr %[w1], [%[w], %[ow]]\n\t"
      "sxtb16 %[e], %[r]\n\t"
      "sxtb16 %[o], %[r], ror #8\n\t"
      "sxtb16 %[w0], %[w1]\n\t"
      "sxtb16 %[w1], %[w1], ror #8\n\t"
      "smlabb %[a0], %[e], %[w0], %[a0]\n\t"
      "smlatt %[a2], %[e], %[w0], %[a2]\n\t"
      "smlabb %[a1], %[o], %[w1], %[a1]\n\t"
      "smlatt %[a3], %[o], %[w1], %[a3]"
      : [a0] "+r"(a0), [a1] "+r"(a1), [a2] "+r"(a2), [a3] "+r"(a3), [r] "=&r"(r), [e] "=&r"(e), [o] "=&r"(o),
        [w0] "=&r"(w0), [w1] "=&r"(w1)
      : [x] "r"(x), [w] "r"(w), [ox] "n"(kX), [ow] "n"(kW)
      : "memory");
}
#else
template <int kX, int kW>
VWW_ALWAYS_INLINE void dw_tap(const int8_t* x, const int8_t* w, int32_t& a0, int32_t& a1, int32_t& a2, int32_t& a3) {
  const uint32_t r = load32(x + kX), rw = load32(w + kW);
  const int32_t e = sxtb16(r), o = sxtb16_ror8(r), w0 = sxtb16(rw), w1 = sxtb16_ror8(rw);
  a0 = smlabb(e, w0, a0);
  a2 = smlatt(e, w0, a2);
  a1 = smlabb(o, w1, a1);
  a3 = smlatt(o, w1, a3);
}
#endif

template <int kDepth, int kRow>
VWW_ALWAYS_INLINE void dw_row(const int8_t* x, const int8_t* w, int32_t& a0, int32_t& a1, int32_t& a2, int32_t& a3) {
  dw_tap<0, (3 * kRow) * kDepth>(x, w, a0, a1, a2, a3);
  dw_tap<kDepth, (3 * kRow + 1) * kDepth>(x, w, a0, a1, a2, a3);
  dw_tap<2 * kDepth, (3 * kRow + 2) * kDepth>(x, w, a0, a1, a2, a3);
}

// One output pixel of a 3x3 depthwise convolution: `base` is the input at the
// patch's top-left tap, rows row_stride bytes apart. Weights: the model's int8
// filter, [tap (ky, kx)][channel]; bias: the input offset folded in.
template <int kDepth, int kMode>
VWW_ALWAYS_INLINE void dw_pixel(const int8_t* base, int row_stride, int8_t* o, const int8_t* w, const int32_t* bias,
                                const KernelArgs& a, const DepthwiseShape& s) {
  for (int c = 0; c < kDepth; c += 4, base += 4, o += 4, w += 4) {
    int32_t a0 = bias[c], a1 = bias[c + 1], a2 = bias[c + 2], a3 = bias[c + 3];
    dw_row<kDepth, 0>(base, w, a0, a1, a2, a3);
    dw_row<kDepth, 1>(base + row_stride, w, a0, a1, a2, a3);
    dw_row<kDepth, 2>(base + 2 * row_stride, w, a0, a1, a2, a3);
    const int32_t zp = s.output_zero_point;
    o[0] = requantize<kMode>(a0, channel_requant<kMode>(a.multiplier[c], a.shift[c], zp), zp, s.clamp);
    o[1] = requantize<kMode>(a1, channel_requant<kMode>(a.multiplier[c + 1], a.shift[c + 1], zp), zp, s.clamp);
    o[2] = requantize<kMode>(a2, channel_requant<kMode>(a.multiplier[c + 2], a.shift[c + 2], zp), zp, s.clamp);
    o[3] = requantize<kMode>(a3, channel_requant<kMode>(a.multiplier[c + 3], a.shift[c + 3], zp), zp, s.clamp);
  }
}

// 3x3 depthwise convolution, depth multiplier 1, stride and leading padding
// from the shape (the rest of the padding follows from the shapes). kDepth % 4
// == 0. The input offset is folded into a copy of the bias on the stack, once
// per call (bias - zp * sum(w)); border pixels read a copy of their 3x3 patch in
// which taps outside the input hold the input zero point, whose folded product
// is exactly the reference's skipped tap.
template <int kDepth, int kMode>
void depthwise3x3(const DepthwiseShape& s, const KernelArgs& a) {
  static_assert(kDepth % 4 == 0 && 8 * kDepth + 3 <= 4095, "generator checks this");
  int32_t bias[kDepth];
  for (int c = 0; c < kDepth; ++c) {
    int32_t sum = 0;
    for (int t = 0; t < 9; ++t) sum += a.filter[t * kDepth + c];
    bias[c] = a.bias[c] - s.input_zero_point * sum;
  }
  alignas(4) int8_t patch[9 * kDepth];
  const int row_stride = s.in_w * kDepth;
  for (int oy = 0; oy < s.out_h; ++oy) {
    const int iy0 = oy * s.stride - s.pad_top;
    const bool rows_inside = iy0 >= 0 && iy0 + 3 <= s.in_h;
    for (int ox = 0; ox < s.out_w; ++ox) {
      const int ix0 = ox * s.stride - s.pad_left;
      int8_t* o = a.output + (oy * s.out_w + ox) * kDepth;
      if (rows_inside && ix0 >= 0 && ix0 + 3 <= s.in_w) {
        dw_pixel<kDepth, kMode>(a.input + (iy0 * s.in_w + ix0) * kDepth, row_stride, o, a.filter, bias, a, s);
        continue;
      }
      for (int ky = 0; ky < 3; ++ky) {
        for (int kx = 0; kx < 3; ++kx) {
          const int iy = iy0 + ky, ix = ix0 + kx;
          int8_t* dst = patch + (ky * 3 + kx) * kDepth;
          if (iy < 0 || ix < 0 || iy >= s.in_h || ix >= s.in_w) {
            std::memset(dst, s.input_zero_point, kDepth);
          } else {
            std::memcpy(dst, a.input + (iy * s.in_w + ix) * kDepth, kDepth);
          }
        }
      }
      dw_pixel<kDepth, kMode>(patch, 3 * kDepth, o, a.filter, bias, a, s);
    }
  }
}

// 3x3 depthwise convolution of a one-channel input with depth multiplier kMult
// (the first layer of MobileNet-style detectors on gray images). Weights: per
// output channel, five words of int16 tap pairs (t0, t1), (t2, t3), (t4, t5),
// (t6, t7), (t8, 0), a copy (9 x kMult weights: small); bias: the input offset
// folded in by the generator.
template <int kInH, int kInW, int kMult, int kOutH, int kOutW, int kStride, int kPadTop, int kPadLeft, int kMode>
void depthwise3x3_single_channel(const DepthwiseShape& s, const KernelArgs& a, const int32_t* w, const int32_t* bias) {
  const int32_t zp = s.output_zero_point;
  for (int oy = 0; oy < kOutH; ++oy) {
    const int iy0 = oy * kStride - kPadTop;
    for (int ox = 0; ox < kOutW; ++ox) {
      const int ix0 = ox * kStride - kPadLeft;
      int32_t t[9];
      if (iy0 >= 0 && ix0 >= 0 && iy0 + 3 <= kInH && ix0 + 3 <= kInW) {
        const int8_t* p = a.input + iy0 * kInW + ix0;
        for (int ky = 0; ky < 3; ++ky)
          for (int kx = 0; kx < 3; ++kx) t[ky * 3 + kx] = p[ky * kInW + kx];
      } else {
        for (int ky = 0; ky < 3; ++ky) {
          for (int kx = 0; kx < 3; ++kx) {
            const int iy = iy0 + ky, ix = ix0 + kx;
            t[ky * 3 + kx] =
                (iy < 0 || ix < 0 || iy >= kInH || ix >= kInW) ? s.input_zero_point : a.input[iy * kInW + ix];
          }
        }
      }
      const int32_t p01 = pack_lo(t[0], t[1]), p23 = pack_lo(t[2], t[3]), p45 = pack_lo(t[4], t[5]),
                    p67 = pack_lo(t[6], t[7]), p8 = t[8];
      int8_t* o = a.output + (oy * kOutW + ox) * kMult;
      const int32_t* wc = w;
      for (int c = 0; c < kMult; ++c, wc += 5) {
        int32_t acc = smlad(p01, wc[0], bias[c]);
        acc = smlad(p23, wc[1], acc);
        acc = smlad(p45, wc[2], acc);
        acc = smlad(p67, wc[3], acc);
        acc = smlabb(p8, wc[4], acc);
        o[c] = requantize<kMode>(acc, channel_requant<kMode>(a.multiplier[c], a.shift[c], zp), zp, s.clamp);
      }
    }
  }
}

}  // namespace vww_kernels

#endif  // VWW_KERNELS_VWW_KERNEL_LIB_H_
