/* One SIMD version of Philox4x32-10 (rng_isa.h), included by rng_avx2.c and rng_avx512.c.
 * Each 32-bit Philox word sits in the low half of a 64-bit lane, so one P_MUL (vpmuludq: the low 32 bits
 * of each lane, full 64-bit product) gives a round's product, hi = product >> 32, lo = its low half.  The
 * high halves of the lanes carry garbage between rounds that never reaches a low half (xor is bitwise,
 * vpmuludq reads low halves only); it is dropped at the end (the 64-bit words take w1 << 32, the uniforms
 * mask it off).  P_NV vectors per pass: P_NV·P_W blocks (a shorter tail: as many vectors as it needs).
 * Only the fourth counter word (the chunk) differs between the lanes, so the parts of the first three rounds
 * that do not depend on it are computed once per call in scalar code (P_SCHED); per lane those rounds cost 8
 * vector operations instead of 18.  Integer arithmetic throughout: the words are Random123's.
 * The includer defines
 *   P_SUFFIX, P_W, P_NV, P_T, P_D        name suffix, 64-bit lanes, vectors per pass, integer and double types
 *   P_SET1(x), P_IDX                     broadcast a 64-bit integer; the lane numbers 0..P_W-1
 *   P_ADD, P_MUL, P_SRLI, P_SLLI, P_XOR, P_AND, P_OR
 *   P_ZIPLO(a, b), P_ZIPHI(a, b)         lanes a0 b0 a1 b1 ... of the first / second halves of a and b
 *   P_STOREN(p, v, k)                    store the first k (1..P_W) 64-bit lanes of v at p
 *   P_SUB                                64-bit integer subtraction
 *   P_CASTPD, P_CASTSI, P_SET1PD, P_ADDPD, P_SUBPD, P_MULPD, P_DIVPD, P_SQRTPD
 * The includer is compiled with -ffp-contract=off: the Box-Muller transform (mode P_BM) does bm32.h's IEEE
 * operations in its order, so its normals have the scalar reference's bits. */
#include "bm32.h"

#define P_CAT2(a, b) a##b
#define P_CAT(a, b) P_CAT2(a, b)
#define P_INLINE static inline __attribute__((always_inline))
#define P_SCHED P_CAT(sched_, P_SUFFIX)

#define P_M0 0xD2511F53u
#define P_M1 0xCD9E8D57u

/* a generic round: the products of x0 and x2, the words move as in Random123's philox4x32round */
#define P_ROUND(x0, x1, x2, x3, k0, k1)                              \
  do {                                                               \
    const P_T p0_ = P_MUL(x0, m0), p1_ = P_MUL(x2, m1);              \
    x0 = P_XOR(P_XOR(P_SRLI(p1_, 32), x1), k0);                      \
    x2 = P_XOR(P_XOR(P_SRLI(p0_, 32), x3), k1);                      \
    x1 = p1_;                                                        \
    x3 = p0_;                                                        \
  } while (0)

/* what a call's blocks share.  With a = round 1's output, b = round 2's, c = round 3's (x3 = the chunk):
 *   a0, a1, a3 are lane-independent and a2 = s2 ^ chunk, so round 2 multiplies only a2:
 *   b0 = hi(a2·M1) ^ t0, b1 = a2·M1, b2 and b3 lane-independent; round 3 multiplies only b0:
 *   c0 = b1 ^ t1, c1 lane-independent, c2 = hi(b0·M0) ^ t2, c3 = b0·M0; rounds 4..10 as usual */
typedef struct {
  P_T s2, t0, t1, t2, c1, k0[10], k1[10];
} P_SCHED;

P_INLINE void P_CAT(sched_init_, P_SUFFIX)(const uint32_t key[2], const uint32_t ctr[3], P_SCHED *s) {
  uint32_t k0[10], k1[10];
  k0[0] = key[0], k1[0] = key[1];
  for (int r = 1; r < 10; r++) k0[r] = k0[r - 1] + 0x9E3779B9u, k1[r] = k1[r - 1] + 0xBB67AE85u; /* Random123 */
  const uint64_t p0 = (uint64_t)ctr[0] * P_M0, p1 = (uint64_t)ctr[2] * P_M1;
  const uint32_t a0 = (uint32_t)(p1 >> 32) ^ ctr[1] ^ k0[0], a1 = (uint32_t)p1, a3 = (uint32_t)p0;
  const uint32_t s2 = (uint32_t)(p0 >> 32) ^ k1[0];
  const uint64_t q0 = (uint64_t)a0 * P_M0;
  const uint32_t b2 = (uint32_t)(q0 >> 32) ^ a3 ^ k1[1], b3 = (uint32_t)q0;
  const uint64_t r1 = (uint64_t)b2 * P_M1;
  s->s2 = P_SET1(s2);
  s->t0 = P_SET1(a1 ^ k0[1]);
  s->t1 = P_SET1((uint32_t)(r1 >> 32) ^ k0[2]);
  s->t2 = P_SET1(b3 ^ k1[2]);
  s->c1 = P_SET1((uint32_t)r1);
  for (int r = 0; r < 10; r++) s->k0[r] = P_SET1(k0[r]), s->k1[r] = P_SET1(k1[r]);
}

/* nv·P_W blocks from chunk c0: the four words of lane l of vector v in w[j][v] (low halves) are block
 * c0 + v·P_W + l */
P_INLINE void P_CAT(blocks_, P_SUFFIX)(const P_SCHED *s, uint32_t c0, const int nv, P_T w[4][P_NV]) {
  const P_T m0 = P_SET1(P_M0), m1 = P_SET1(P_M1);
  P_T x0[P_NV], x1[P_NV], x2[P_NV], x3[P_NV];
  for (int v = 0; v < nv; v++) {                          /* rounds 1..3 */
    const P_T a2 = P_XOR(s->s2, P_ADD(P_SET1(c0 + (uint32_t)(v * P_W)), P_IDX));
    const P_T b1 = P_MUL(a2, m1), b0 = P_XOR(P_SRLI(b1, 32), s->t0);
    x3[v] = P_MUL(b0, m0);
    x2[v] = P_XOR(P_SRLI(x3[v], 32), s->t2);
    x0[v] = P_XOR(b1, s->t1);
    x1[v] = s->c1;
  }
  for (int r = 3; r < 10; r++)
    for (int v = 0; v < nv; v++) P_ROUND(x0[v], x1[v], x2[v], x3[v], s->k0[r], s->k1[r]);
  for (int v = 0; v < nv; v++) w[0][v] = x0[v], w[1][v] = x1[v], w[2][v] = x2[v], w[3][v] = x3[v];
}

/* (double)(w_hi·2^32 + w_lo >> 11), exactly: the two parts (< 2^32 and < 2^21) as doubles through the
 * 2^52 exponent trick, then w_hi·2^21 + (w_lo >> 11), whose bits do not overlap */
P_INLINE P_D P_CAT(top53_, P_SUFFIX)(P_T lo, P_T hi) {
  const P_T mask = P_SET1(0xffffffffu), magic = P_SET1(0x4330000000000000u);
  const P_D two52 = P_SET1PD(0x1.0p52);
  const P_D dh = P_SUBPD(P_CASTPD(P_OR(P_AND(hi, mask), magic)), two52);
  const P_D dl = P_SUBPD(P_CASTPD(P_OR(P_SRLI(P_AND(lo, mask), 11), magic)), two52);
  return P_ADDPD(P_MULPD(dh, P_SET1PD(0x1.0p21)), dl);
}

/* bm32_m2ln in lanes, split around its polynomial: radius_in_ gives, from x = 2^53 u (so u's bits are x's bits -
 * 53·2^52), E, f, s and the polynomial's argument z = s^2; radius_out_ turns the polynomial's value h into
 * r = sqrt(-2 ln u).  The polynomials of a pass run in one loop (bm_), so that the log's chain, which waits for
 * the division, overlaps with the sine's and cosine's. */
P_INLINE void P_CAT(radius_in_, P_SUFFIX)(const int nv, const P_D *x, P_D *E, P_D *f, P_D *s, P_D *z) {
  for (int v = 0; v < nv; v++) {
    const P_T b = P_ADD(P_CASTSI(x[v]), P_SET1(BM_ONE_BITS - BM_SQRTH_BITS - (UINT64_C(53) << 52)));
    /* (double)(b >> 52) - 1023 in one exact subtraction: the 2^52 trick's 2^52 and the bias together */
    E[v] = P_SUBPD(P_CASTPD(P_OR(P_SRLI(b, 52), P_SET1(0x4330000000000000u))), P_SET1PD(0x1.0p52 + 1023.0));
    f[v] = P_SUBPD(P_CASTPD(P_ADD(P_AND(b, P_SET1(BM_MANT)), P_SET1(BM_SQRTH_BITS))), P_SET1PD(1.0));
    s[v] = P_DIVPD(f[v], P_ADDPD(P_SET1PD(2.0), f[v]));
    z[v] = P_MULPD(s[v], s[v]);
  }
}

P_INLINE void P_CAT(radius_out_, P_SUFFIX)(const int nv, const P_D *E, const P_D *f, const P_D *s, const P_D *z,
                                           const P_D *h, P_D *r) {
  for (int v = 0; v < nv; v++) {
    const P_D hfsq = P_MULPD(P_MULPD(P_SET1PD(0.5), f[v]), f[v]), R = P_MULPD(z[v], h[v]);
    const P_D lo = P_ADDPD(P_MULPD(s[v], P_ADDPD(hfsq, R)), P_MULPD(E[v], P_SET1PD(BM_LN2_LO)));
    r[v] = P_SQRTPD(P_MULPD(P_SET1PD(-2.0), P_ADDPD(P_MULPD(E[v], P_SET1PD(BM_LN2_HI)),
                                                    P_SUBPD(f[v], P_SUBPD(hfsq, lo)))));
  }
}

/* bm32_horner of the log's polynomial at zl and of the sine's and cosine's at zt, all 3 nv chains in one loop
 * (each chain bm32_horner's operations in its order, so the same bits; the chains of the nv vectors and
 * the three polynomials interleave) */
_Static_assert(BM_PL_N == BM_PS_N && BM_PS_N == BM_PC_N, "the three polynomials of one degree (horner3_)");
P_INLINE void P_CAT(horner3_, P_SUFFIX)(const int nv, const P_D *zl, const P_D *zt, P_D *hl, P_D *hs, P_D *hc) {
  const int n = BM_PL_N;
  for (int v = 0; v < nv; v++)
    hl[v] = P_SET1PD(BM_PL[n - 1]), hs[v] = P_SET1PD(BM_PS[n - 1]), hc[v] = P_SET1PD(BM_PC[n - 1]);
  for (int i = n - 2; i >= 0; i--)
    for (int v = 0; v < nv; v++) {
      hs[v] = P_ADDPD(P_SET1PD(BM_PS[i]), P_MULPD(zt[v], hs[v]));
      hc[v] = P_ADDPD(P_SET1PD(BM_PC[i]), P_MULPD(zt[v], hc[v]));
      hl[v] = P_ADDPD(P_SET1PD(BM_PL[i]), P_MULPD(zl[v], hl[v]));
    }
}

/* bm32_pair in lanes on the block words of nv vectors: zc, zs (as integer vectors).
 *   x = 2^53 u = (double)(e >> 11) + 0.5: (double)(w1·2^21) through the 2^73 exponent trick plus
 *     (double)(w0 >> 11), both exact, then the same rounded + 0.5 as u01;
 *   t = (n + 0.5)·2^-50 as (the double with the bits of 1 and mantissa 4n + 2) - 1, both exact */
P_INLINE void P_CAT(bm_, P_SUFFIX)(P_T w[4][P_NV], const int nv, P_T *zc, P_T *zs) {
  const P_T one = P_SET1(1), two = P_SET1(2), four = P_SET1(4), lo32 = P_SET1(0xffffffffu);
  P_D x[P_NV], r[P_NV], t[P_NV], z[P_NV], ps[P_NV], pc[P_NV];
  P_T q[P_NV];
  for (int v = 0; v < nv; v++) {
    const P_D dh = P_SUBPD(P_CASTPD(P_OR(P_AND(w[1][v], lo32), P_SET1(0x4480000000000000u))), P_SET1PD(0x1.0p73));
    const P_D dl = P_SUBPD(P_CASTPD(P_OR(P_SRLI(P_AND(w[0][v], lo32), 11), P_SET1(0x4330000000000000u))),
                           P_SET1PD(0x1.0p52));
    x[v] = P_ADDPD(P_ADDPD(dh, dl), P_SET1PD(0.5));
    /* bm32_octant: q = o >> 61 = bits 29..31 of w3; n = bits 11..60 of o, flipped in odd octants */
    q[v] = P_SRLI(P_AND(w[3][v], lo32), 29);
    const P_T o = P_XOR(P_OR(P_SLLI(w[3][v], 32), P_AND(w[2][v], lo32)), P_SUB(P_SET1(0), P_AND(q[v], one)));
    const P_T m = P_OR(P_AND(P_SRLI(o, 9), P_SET1((UINT64_C(1) << 52) - 4)), P_SET1(BM_ONE_BITS | 2));
    t[v] = P_SUBPD(P_CASTPD(m), P_SET1PD(1.0));
    z[v] = P_MULPD(t[v], t[v]);
  }
  P_D E[P_NV], f[P_NV], s[P_NV], zl[P_NV], hl[P_NV];
  P_CAT(radius_in_, P_SUFFIX)(nv, x, E, f, s, zl);
  P_CAT(horner3_, P_SUFFIX)(nv, zl, z, hl, ps, pc);
  P_CAT(radius_out_, P_SUFFIX)(nv, E, f, s, zl, hl, r);
  for (int v = 0; v < nv; v++) {
    const P_D s = P_MULPD(t[v], ps[v]), c = P_ADDPD(P_SET1PD(1.0), P_MULPD(z[v], pc[v]));
    /* bm32_place: swap where (q + 1) & 2, sign bits from (q + 2) & 4 and q & 4 */
    P_T a = P_CASTSI(P_MULPD(r[v], c)), b = P_CASTSI(P_MULPD(r[v], s));
    const P_T swap = P_SUB(P_SET1(0), P_SRLI(P_AND(P_ADD(q[v], one), two), 1)), d = P_AND(P_XOR(a, b), swap);
    a = P_XOR(a, d);
    b = P_XOR(b, d);
    zc[v] = P_XOR(a, P_SLLI(P_AND(P_ADD(q[v], two), four), 61));
    zs[v] = P_XOR(b, P_SLLI(P_AND(q[v], four), 61));
  }
}

/* what a pass writes (a constant in each inlined copy): Box-Muller normals, words, uniforms */
enum { P_BM, P_WORDS, P_UNIF };

/* the two 64-bit outputs of each block of the nv vectors: the 64-bit words (e, o), their uniforms or normals */
P_INLINE void P_CAT(outs_, P_SUFFIX)(const int mode, P_T w[4][P_NV], const int nv, P_T *e, P_T *o) {
  if (mode == P_BM) {
    P_CAT(bm_, P_SUFFIX)(w, nv, e, o);
    return;
  }
  const P_T mask = P_SET1(0xffffffffu);
  const P_D half = P_SET1PD(0.5), scale = P_SET1PD(0x1.0p-53);
  for (int v = 0; v < nv; v++)
    if (mode == P_WORDS) {
      e[v] = P_OR(P_SLLI(w[1][v], 32), P_AND(w[0][v], mask));
      o[v] = P_OR(P_SLLI(w[3][v], 32), P_AND(w[2][v], mask));
    } else {
      e[v] = P_CASTSI(P_MULPD(P_ADDPD(P_CAT(top53_, P_SUFFIX)(w[0][v], w[1][v]), half), scale));
      o[v] = P_CASTSI(P_MULPD(P_ADDPD(P_CAT(top53_, P_SUFFIX)(w[2][v], w[3][v]), half), scale));
    }
}

/* nv vectors of blocks from chunk c0 + c (block c of this call first); `left` = values still to write, to
 * out[2c..] interleaved: the two outputs of block c at out[2c], out[2c + 1] */
P_INLINE void P_CAT(pass_, P_SUFFIX)(const int mode, const int nv, const P_SCHED *s, uint32_t c0, int c, int left,
                                     uint64_t *out) {
  P_T w[4][P_NV], e[P_NV], o[P_NV];
  P_CAT(blocks_, P_SUFFIX)(s, c0 + (uint32_t)c, nv, w);
  P_CAT(outs_, P_SUFFIX)(mode, w, nv, e, o);
  for (int v = 0; v < nv; v++) {
    const int b = 2 * v * P_W, k = left - b;
    if (k <= 0) break;
    P_STOREN(out + 2 * c + b, P_ZIPLO(e[v], o[v]), k < P_W ? k : P_W);
    if (k > P_W) P_STOREN(out + 2 * c + b + P_W, P_ZIPHI(e[v], o[v]), k - P_W < P_W ? k - P_W : P_W);
  }
}

/* blocks chunk0 .. chunk0 + n - 1; `vals` = the values to write (2n or 2n - 1) */
P_INLINE void P_CAT(run_, P_SUFFIX)(const int mode, const uint32_t key[2], const uint32_t ctr[3], uint32_t chunk0,
                                    int n, int vals, uint64_t *out) {
  P_SCHED s;
  P_CAT(sched_init_, P_SUFFIX)(key, ctr, &s);
  int c = 0;
  for (; n - c >= P_NV * P_W; c += P_NV * P_W) P_CAT(pass_, P_SUFFIX)(mode, P_NV, &s, chunk0, c, vals - 2 * c, out);
  const int rest = (n - c + P_W - 1) / P_W; /* 0 .. P_NV vectors for the last blocks */
  if (rest == 1) P_CAT(pass_, P_SUFFIX)(mode, 1, &s, chunk0, c, vals - 2 * c, out);
#if P_NV == 4
  else if (rest == 2) P_CAT(pass_, P_SUFFIX)(mode, 2, &s, chunk0, c, vals - 2 * c, out);
  else if (rest == 3) P_CAT(pass_, P_SUFFIX)(mode, 3, &s, chunk0, c, vals - 2 * c, out);
#elif P_NV != 2
#error "P_NV is 2 or 4"
#endif
  else if (rest) P_CAT(pass_, P_SUFFIX)(mode, P_NV, &s, chunk0, c, vals - 2 * c, out);
}

void P_CAT(rtk_p4x32_wi_, P_SUFFIX)(const uint32_t key[2], const uint32_t ctr[3], uint32_t chunk0, int n,
                                    uint64_t *out) {
  P_CAT(run_, P_SUFFIX)(P_WORDS, key, ctr, chunk0, n, 2 * n, out);
}

void P_CAT(rtk_p4x32_w_, P_SUFFIX)(const uint32_t key[2], const uint32_t ctr[3], uint32_t chunk0, int n, uint32_t *out) {
  /* out[4c + j] = wj: the 64-bit words e, o of block c, little-endian (x86) */
  P_CAT(rtk_p4x32_wi_, P_SUFFIX)(key, ctr, chunk0, n, (uint64_t *)(void *)out);
}

void P_CAT(rtk_p4x32_n_, P_SUFFIX)(const uint32_t key[2], const uint32_t ctr[3], uint32_t chunk0, int m,
                                   double *out) {
  P_CAT(run_, P_SUFFIX)(P_BM, key, ctr, chunk0, (m + 1) / 2, m, (uint64_t *)(void *)out);
}

void P_CAT(rtk_p4x32_i_, P_SUFFIX)(const uint32_t key[2], const uint32_t ctr[3], uint32_t chunk0, int m,
                                   double *out) {
  P_CAT(run_, P_SUFFIX)(P_UNIF, key, ctr, chunk0, (m + 1) / 2, m, (uint64_t *)(void *)out);
}
