/* One SIMD version of Philox4x32-10 (rng_isa.h), included by rng_avx2.c and rng_avx512.c.
 * Each 32-bit Philox word sits in the low half of a 64-bit lane, so one P_MUL (vpmuludq: the low 32 bits
 * of each lane, full 64-bit product) gives a round's product, hi = product >> 32, lo = its low half.  The
 * high halves of the lanes carry garbage between rounds that never reaches a low half (xor is bitwise,
 * vpmuludq reads low halves only); it is masked off at the end.  Two vectors per pass: 2·P_W blocks.
 * The includer defines
 *   P_SUFFIX, P_W, P_T, P_D              name suffix, 64-bit lanes, integer and double vector types
 *   P_SET1(x), P_IDX                     broadcast a 64-bit integer; the lane numbers 0..P_W-1
 *   P_ADD, P_MUL, P_SRLI, P_SLLI, P_XOR, P_AND, P_OR, P_STORE
 *   P_CASTPD, P_SET1PD, P_ADDPD, P_SUBPD, P_MULPD, P_STOREPD */
#include <string.h>

#define P_CAT2(a, b) a##b
#define P_CAT(a, b) P_CAT2(a, b)

#define P_ROUND(x0, x1, x2, x3, r)                                   \
  do {                                                               \
    const P_T p0_ = P_MUL(x0, m0), p1_ = P_MUL(x2, m1);              \
    x0 = P_XOR(P_XOR(P_SRLI(p1_, 32), x1), K0[r]);                   \
    x2 = P_XOR(P_XOR(P_SRLI(p0_, 32), x3), K1[r]);                   \
    x1 = p1_;                                                        \
    x3 = p0_;                                                        \
  } while (0)

/* 2 P_W blocks from chunk c0 (P_W if one): the four words of lane l of vector v in w[j][v] (64-bit lanes, low
 * half) are block c0 + v·P_W + l */
static inline void P_CAT(blocks_, P_SUFFIX)(const uint32_t key[2], const uint32_t ctr[3], uint32_t c0, int one,
                                            P_T w[4][2]) {
  P_T K0[10], K1[10];
  uint32_t k0 = key[0], k1 = key[1];
  for (int r = 0; r < 10; r++, k0 += 0x9E3779B9u, k1 += 0xBB67AE85u) { /* Random123's philox4x32 key schedule */
    K0[r] = P_SET1(k0);
    K1[r] = P_SET1(k1);
  }
  const P_T m0 = P_SET1(0xD2511F53u), m1 = P_SET1(0xCD9E8D57u);
  P_T a0 = P_SET1(ctr[0]), a1 = P_SET1(ctr[1]), a2 = P_SET1(ctr[2]), a3 = P_ADD(P_SET1(c0), P_IDX);
  P_T b0 = a0, b1 = a1, b2 = a2, b3 = P_ADD(a3, P_SET1(P_W));
  if (one) /* short draws (d = 10: 5 blocks): half the work */
    for (int r = 0; r < 10; r++) P_ROUND(a0, a1, a2, a3, r);
  else
    for (int r = 0; r < 10; r++) {
      P_ROUND(a0, a1, a2, a3, r);
      P_ROUND(b0, b1, b2, b3, r);
    }
  w[0][0] = a0, w[1][0] = a1, w[2][0] = a2, w[3][0] = a3;
  w[0][1] = b0, w[1][1] = b1, w[2][1] = b2, w[3][1] = b3;
}

void P_CAT(rtk_p4x32_w_, P_SUFFIX)(const uint32_t key[2], const uint32_t ctr[3], uint32_t chunk0, int n, uint32_t *out) {
  for (int c = 0; c < n; c += 2 * P_W) {
    P_T w[4][2];
    P_CAT(blocks_, P_SUFFIX)(key, ctr, chunk0 + (uint32_t)c, n - c <= P_W, w);
    uint64_t t[4][2 * P_W];
    for (int j = 0; j < 4; j++) {
      P_STORE(t[j], w[j][0]);
      P_STORE(t[j] + P_W, w[j][1]);
    }
    for (int l = 0; l < 2 * P_W && c + l < n; l++)
      for (int j = 0; j < 4; j++) out[4 * (c + l) + j] = (uint32_t)t[j][l];
  }
}

/* (double)(w_hi·2^32 + w_lo >> 11), exactly: the two parts (< 2^32 and < 2^21) as doubles through the
 * 2^52 exponent trick, then w_hi·2^21 + (w_lo >> 11), whose bits do not overlap */
static inline P_D P_CAT(top53_, P_SUFFIX)(P_T lo, P_T hi) {
  const P_T mask = P_SET1(0xffffffffu), magic = P_SET1(0x4330000000000000u);
  const P_D two52 = P_SET1PD(0x1.0p52);
  const P_D dh = P_SUBPD(P_CASTPD(P_OR(P_AND(hi, mask), magic)), two52);
  const P_D dl = P_SUBPD(P_CASTPD(P_OR(P_SRLI(P_AND(lo, mask), 11), magic)), two52);
  return P_ADDPD(P_MULPD(dh, P_SET1PD(0x1.0p21)), dl);
}

/* one pass over blocks chunk0 .. chunk0+n-1 with two 64-bit outputs per block (rtk_p4x32_e_* and _u_*): words = 1:
 * the words e and o; words = 0: their uniforms, u(e) and the (0, 2·so·2^53) value of o.  Inlined with a constant
 * `words` into each. */
static inline void P_CAT(pairs_, P_SUFFIX)(const uint32_t key[2], const uint32_t ctr[3], uint32_t chunk0, int n,
                                           int words, double so, void *oe, void *oo) {
  const P_T mask = P_SET1(0xffffffffu);
  const P_D half = P_SET1PD(0.5), se = P_SET1PD(0x1.0p-53), vso = P_SET1PD(so);
  for (int c = 0; c < n; c += 2 * P_W) {
    P_T w[4][2];
    const int one = n - c <= P_W;
    P_CAT(blocks_, P_SUFFIX)(key, ctr, chunk0 + (uint32_t)c, one, w);
    uint64_t te[2 * P_W], to[2 * P_W];
    const int full = n - c >= 2 * P_W;
    uint64_t *pe = full ? (uint64_t *)oe + c : te, *po = full ? (uint64_t *)oo + c : to;
    for (int v = 0; v < 2 - one; v++) {
      if (words) {
        P_STORE(pe + v * P_W, P_OR(P_SLLI(w[1][v], 32), P_AND(w[0][v], mask)));
        P_STORE(po + v * P_W, P_OR(P_SLLI(w[3][v], 32), P_AND(w[2][v], mask)));
      } else {
        double *de = (double *)(void *)(pe + v * P_W), *dn = (double *)(void *)(po + v * P_W);
        P_STOREPD(de, P_MULPD(P_ADDPD(P_CAT(top53_, P_SUFFIX)(w[0][v], w[1][v]), half), se));
        P_STOREPD(dn, P_MULPD(P_ADDPD(P_CAT(top53_, P_SUFFIX)(w[2][v], w[3][v]), half), vso));
      }
    }
    if (!full) {
      memcpy((uint64_t *)oe + c, te, sizeof(uint64_t) * (size_t)(n - c));
      memcpy((uint64_t *)oo + c, to, sizeof(uint64_t) * (size_t)(n - c));
    }
  }
}

/* the two 64-bit words of each block: we[c] = w1·2^32 + w0, wo[c] = w3·2^32 + w2 (the ziggurat's words) */
void P_CAT(rtk_p4x32_e_, P_SUFFIX)(const uint32_t key[2], const uint32_t ctr[3], uint32_t chunk0, int n, uint64_t *we,
                                   uint64_t *wo) {
  P_CAT(pairs_, P_SUFFIX)(key, ctr, chunk0, n, 1, 0.0, we, wo);
}

void P_CAT(rtk_p4x32_u_, P_SUFFIX)(const uint32_t key[2], const uint32_t ctr[3], uint32_t chunk0, int n, double so,
                                   double *ue, double *uo) {
  P_CAT(pairs_, P_SUFFIX)(key, ctr, chunk0, n, 0, so, ue, uo);
}
