// Int8 convolution kernels specialised at compile time (shapes, strides and
// padding are template parameters; weights, biases and requantization constants
// are arrays the generator writes), for `vwwdeploy firmware build --kernels
// generated` (vwwdeploy/model/kernels/generate.py writes the instantiations,
// firmware/kernels/vww_tflm_kernels.cc registers them with TFLM).
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
// The input offset is folded into the bias (bias + input_offset * sum(w));
// padded taps read the input zero point, whose product with the folded weights
// is exactly the reference's skipped tap.
#ifndef VWW_KERNELS_VWW_KERNEL_LIB_H_
#define VWW_KERNELS_VWW_KERNEL_LIB_H_

#include <cstdint>
#include <cstring>
#include <utility>

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

// Per output channel: the multiplier, the log2 of the factor applied before it (2^(left
// shift + 1) for SMMULR, 2^left shift in kWide mode), the rounding right shift
// and its addend (2^(r-1), plus zp * 2^r unless kSeparateOffset), and the
// output offset (added after the shift in kSeparateOffset mode).
struct Requant {  // 12 bytes per output channel: the tables are most of what the kernels add to flash
  int32_t multiplier;
  int32_t addend;
  int8_t pre_shift;  // log2 of the factor applied before the multiplier
  int8_t right_shift;
  int16_t output_offset;
};

// Requantization modes, chosen per layer by the generator.
constexpr int kTieCorrection = 1;   // the activation's lower bound is below the output zero point
constexpr int kWide = 2;            // |acc| may reach 2^30: the high multiply in 64 bits instead of SMMULR
constexpr int kSeparateOffset = 4;  // zp * 2^r does not fit 32 bits: add the output offset after the shift
constexpr int kWideRounding = 8;    // v + 2^(r-1) may overflow 32 bits: that sum and the shift in 64 bits

template <int kMode, int32_t kActMin, int32_t kActMax>
VWW_ALWAYS_INLINE int8_t requantize(int32_t acc, const Requant& q) {
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
  if (kMode & kSeparateOffset) v += q.output_offset;
  if (kActMin == -128 && kActMax == 127) return static_cast<int8_t>(ssat<8>(v));
  v = v < kActMin ? kActMin : v;
  v = v > kActMax ? kActMax : v;
  return static_cast<int8_t>(v);
}

// One step of a 2-pixel x 2-channel dot product over 4 input channels: int16
// pairs of pixel 0 at byte offset 2 * kX, of pixel 1 at 2 * kX + kPixelBytes;
// the model's own int8 weights of channel 0 at byte offset kX, of channel 1 at
// kX + kDepth, widened here with SXTB16 (so the weights are stored once, in the
// model). Written in assembly because GCC otherwise keeps the expanded pixels in
// (spilled) registers and never pairs the loads: 2 LDRD + 2 LDR + 4 SXTB16 + 8
// SMLAD for 16 multiply-accumulates.
#if defined(__ARM_FEATURE_DSP)
template <int kX, int kPixelBytes, int kDepth>
VWW_ALWAYS_INLINE void step2x2(const int32_t* x, const int8_t* w, int32_t& a00, int32_t& a01, int32_t& a10,
                               int32_t& a11) {
  int32_t x0, x1, y0, y1, w0, w1, r;
  __asm__(
      "ldrd %[x0], %[x1], [%[x], %[o0]]\n\t"
      "ldrd %[y0], %[y1], [%[x], %[o1]]\n\t"
      "ldr %[r], [%[w], %[ow0]]\n\t"
      "sxtb16 %[w0], %[r]\n\t"
      "sxtb16 %[w1], %[r], ror #8\n\t"
      "smlad %[a00], %[x0], %[w0], %[a00]\n\t"
      "smlad %[a00], %[x1], %[w1], %[a00]\n\t"
      "smlad %[a10], %[y0], %[w0], %[a10]\n\t"
      "smlad %[a10], %[y1], %[w1], %[a10]\n\t"
      "ldr %[r], [%[w], %[ow1]]\n\t"
      "sxtb16 %[w0], %[r]\n\t"
      "sxtb16 %[w1], %[r], ror #8\n\t"
      "smlad %[a01], %[x0], %[w0], %[a01]\n\t"
      "smlad %[a01], %[x1], %[w1], %[a01]\n\t"
      "smlad %[a11], %[y0], %[w0], %[a11]\n\t"
      "smlad %[a11], %[y1], %[w1], %[a11]"
      : [a00] "+r"(a00), [a01] "+r"(a01), [a10] "+r"(a10), [a11] "+r"(a11), [x0] "=&r"(x0), [x1] "=&r"(x1),
        [y0] "=&r"(y0), [y1] "=&r"(y1), [w0] "=&r"(w0), [w1] "=&r"(w1), [r] "=&r"(r)
      : [x] "r"(x), [w] "r"(w), [o0] "I"(2 * kX), [o1] "I"(2 * kX + kPixelBytes), [ow0] "I"(kX), [ow1] "I"(kX + kDepth)
      : "memory");
}
#else
template <int kX, int kPixelBytes, int kDepth>
VWW_ALWAYS_INLINE void step2x2(const int32_t* x, const int8_t* w, int32_t& a00, int32_t& a01, int32_t& a10,
                               int32_t& a11) {
  const int32_t *x0 = x + 2 * kX / 4, *x1 = x + (2 * kX + kPixelBytes) / 4;
  const uint32_t r0 = load32(w + kX), r1 = load32(w + kX + kDepth);
  a00 = smlad(x0[1], sxtb16_ror8(r0), smlad(x0[0], sxtb16(r0), a00));
  a10 = smlad(x1[1], sxtb16_ror8(r0), smlad(x1[0], sxtb16(r0), a10));
  a01 = smlad(x0[1], sxtb16_ror8(r1), smlad(x0[0], sxtb16(r1), a01));
  a11 = smlad(x1[1], sxtb16_ror8(r1), smlad(x1[0], sxtb16(r1), a11));
}
#endif

template <int kWords, int kDepth, int... kSteps>
VWW_ALWAYS_INLINE void dot2x2(const int32_t* x, const int8_t* w, int32_t& a00, int32_t& a01, int32_t& a10, int32_t& a11,
                              std::integer_sequence<int, kSteps...>) {
  (step2x2<4 * kSteps, 4 * kWords, kDepth>(x, w, a00, a01, a10, a11), ...);
}

// Sign-extends kDepth int8 values into int16 pairs in SXTB16 order: per 4
// bytes, (x0, x2), (x1, x3).
template <int kDepth>
VWW_ALWAYS_INLINE void expand(const int8_t* in, int32_t* out) {
#pragma GCC unroll 64
  for (int g = 0; g < kDepth / 4; ++g) {
    const uint32_t r = load32(in + 4 * g);
    out[2 * g] = sxtb16(r);
    out[2 * g + 1] = sxtb16_ror8(r);
  }
}

// 1x1 convolution, stride 1, no padding: out[p][k] = requant(bias'[k] + sum_c
// in[p][c] * w[k][c]). kDepth % 4 == 0, kOut % 2 == 0. Weights: the model's
// int8 filter, [out][in]. Two pixels at a time are sign-extended once into
// int16 pairs (x0, x2), (x1, x3) -- the order SXTB16 and SXTB16 ROR 8 widen 4
// weights into -- then every output channel pair reads them with LDRD.
template <int kPixels, int kDepth, int kOut, int kMode, int32_t kActMin, int32_t kActMax>
void conv1x1(const int8_t* in, int8_t* out, const int8_t* w, const int32_t* bias, const Requant* q) {
  static_assert(kDepth % 4 == 0 && kOut % 2 == 0, "generator checks these");
  constexpr int kWords = kDepth / 2;  // int16 pairs per pixel
  alignas(8) int32_t x[2 * kWords];
  int p = 0;
  for (; p + 2 <= kPixels; p += 2) {
    expand<kDepth>(in + p * kDepth, x);
    expand<kDepth>(in + (p + 1) * kDepth, x + kWords);
    int8_t* o0 = out + p * kOut;
    const int8_t* wk = w;
    for (int k = 0; k < kOut; k += 2, wk += 2 * kDepth) {
      int32_t a00 = bias[k], a01 = bias[k + 1], a10 = bias[k], a11 = bias[k + 1];
      dot2x2<kWords, kDepth>(x, wk, a00, a01, a10, a11, std::make_integer_sequence<int, kWords / 2>());
      o0[k] = requantize<kMode, kActMin, kActMax>(a00, q[k]);
      o0[k + 1] = requantize<kMode, kActMin, kActMax>(a01, q[k + 1]);
      o0[kOut + k] = requantize<kMode, kActMin, kActMax>(a10, q[k]);
      o0[kOut + k + 1] = requantize<kMode, kActMin, kActMax>(a11, q[k + 1]);
    }
  }
  for (; p < kPixels; ++p) {
    expand<kDepth>(in + p * kDepth, x);
    const int8_t* wk = w;
    for (int k = 0; k < kOut; ++k, wk += kDepth) {
      int32_t acc = bias[k];
#pragma GCC unroll 64
      for (int g = 0; g < kDepth / 4; ++g) {
        const uint32_t r = load32(wk + 4 * g);
        acc = smlad(x[2 * g + 1], sxtb16_ror8(r), smlad(x[2 * g], sxtb16(r), acc));
      }
      out[p * kOut + k] = requantize<kMode, kActMin, kActMax>(acc, q[k]);
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

// One output pixel of a 3x3 depthwise convolution: `base` is the input at the
// patch's top-left tap, rows kRowStride bytes apart. Weights: the model's int8
// filter, [tap (ky, kx)][channel].
template <int kDepth, int kRowStride, int kMode, int32_t kActMin, int32_t kActMax, int... kTaps>
VWW_ALWAYS_INLINE void dw_pixel(const int8_t* base, int8_t* o, const int8_t* w, const int32_t* bias, const Requant* q,
                                std::integer_sequence<int, kTaps...>) {
  for (int g = 0; g < kDepth / 4; ++g, base += 4, o += 4, w += 4, bias += 4, q += 4) {
    int32_t a0 = bias[0], a1 = bias[1], a2 = bias[2], a3 = bias[3];
    (dw_tap<(kTaps / 3) * kRowStride + (kTaps % 3) * kDepth, kTaps * kDepth>(base, w, a0, a1, a2, a3), ...);
    o[0] = requantize<kMode, kActMin, kActMax>(a0, q[0]);
    o[1] = requantize<kMode, kActMin, kActMax>(a1, q[1]);
    o[2] = requantize<kMode, kActMin, kActMax>(a2, q[2]);
    o[3] = requantize<kMode, kActMin, kActMax>(a3, q[3]);
  }
}

// 3x3 depthwise convolution, depth multiplier 1, stride kStride, padding
// kPadTop / kPadLeft (the rest of the padding follows from the shapes). kDepth
// % 4 == 0. Border pixels read a copy of their 3x3 patch in which taps outside
// the input hold the input zero point.
template <int kInH, int kInW, int kDepth, int kOutH, int kOutW, int kStride, int kPadTop, int kPadLeft, int kMode,
          int32_t kActMin, int32_t kActMax>
void depthwise3x3(const int8_t* in, int8_t* out, const int8_t* w, const int32_t* bias, const Requant* q,
                  int8_t input_zero_point) {
  static_assert(kDepth % 4 == 0, "generator checks this");
  constexpr auto kTaps = std::make_integer_sequence<int, 9>();
  alignas(4) int8_t patch[9 * kDepth];
  for (int oy = 0; oy < kOutH; ++oy) {
    const int iy0 = oy * kStride - kPadTop;
    const bool rows_inside = iy0 >= 0 && iy0 + 3 <= kInH;
    for (int ox = 0; ox < kOutW; ++ox) {
      const int ix0 = ox * kStride - kPadLeft;
      int8_t* o = out + (oy * kOutW + ox) * kDepth;
      if (rows_inside && ix0 >= 0 && ix0 + 3 <= kInW) {
        dw_pixel<kDepth, kInW * kDepth, kMode, kActMin, kActMax>(in + (iy0 * kInW + ix0) * kDepth, o, w, bias, q,
                                                                 kTaps);
        continue;
      }
      for (int ky = 0; ky < 3; ++ky) {
        for (int kx = 0; kx < 3; ++kx) {
          const int iy = iy0 + ky, ix = ix0 + kx;
          int8_t* dst = patch + (ky * 3 + kx) * kDepth;
          if (iy < 0 || ix < 0 || iy >= kInH || ix >= kInW) {
            std::memset(dst, input_zero_point, kDepth);
          } else {
            std::memcpy(dst, in + (iy * kInW + ix) * kDepth, kDepth);
          }
        }
      }
      dw_pixel<kDepth, 3 * kDepth, kMode, kActMin, kActMax>(patch, o, w, bias, q, kTaps);
    }
  }
}

// 3x3 depthwise convolution of a one-channel input with depth multiplier kMult
// (the first layer of MobileNet-style detectors on gray images). Weights: per
// output channel, five words of int16 tap pairs (t0, t1), (t2, t3), (t4, t5),
// (t6, t7), (t8, 0).
template <int kInH, int kInW, int kMult, int kOutH, int kOutW, int kStride, int kPadTop, int kPadLeft, int kMode,
          int32_t kActMin, int32_t kActMax>
void depthwise3x3_single_channel(const int8_t* in, int8_t* out, const int32_t* w, const int32_t* bias, const Requant* q,
                                 int8_t input_zero_point) {
  for (int oy = 0; oy < kOutH; ++oy) {
    const int iy0 = oy * kStride - kPadTop;
    for (int ox = 0; ox < kOutW; ++ox) {
      const int ix0 = ox * kStride - kPadLeft;
      int32_t t[9];
      if (iy0 >= 0 && ix0 >= 0 && iy0 + 3 <= kInH && ix0 + 3 <= kInW) {
        const int8_t* p = in + iy0 * kInW + ix0;
        for (int ky = 0; ky < 3; ++ky)
          for (int kx = 0; kx < 3; ++kx) t[ky * 3 + kx] = p[ky * kInW + kx];
      } else {
        for (int ky = 0; ky < 3; ++ky) {
          for (int kx = 0; kx < 3; ++kx) {
            const int iy = iy0 + ky, ix = ix0 + kx;
            t[ky * 3 + kx] = (iy < 0 || ix < 0 || iy >= kInH || ix >= kInW) ? input_zero_point : in[iy * kInW + ix];
          }
        }
      }
      const int32_t p01 = pack_lo(t[0], t[1]), p23 = pack_lo(t[2], t[3]), p45 = pack_lo(t[4], t[5]),
                    p67 = pack_lo(t[6], t[7]), p8 = t[8];
      int8_t* o = out + (oy * kOutW + ox) * kMult;
      const int32_t* wc = w;
      for (int c = 0; c < kMult; ++c, wc += 5) {
        int32_t acc = smlad(p01, wc[0], bias[c]);
        acc = smlad(p23, wc[1], acc);
        acc = smlad(p45, wc[2], acc);
        acc = smlad(p67, wc[3], acc);
        acc = smlabb(p8, wc[4], acc);
        o[c] = requantize<kMode, kActMin, kActMax>(acc, q[c]);
      }
    }
  }
}

}  // namespace vww_kernels

#endif  // VWW_KERNELS_VWW_KERNEL_LIB_H_
