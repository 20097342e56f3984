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
 *   P_CASTPD, P_CASTSI, P_SET1PD, P_ADDPD, P_SUBPD, P_MULPD */
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

/* what a pass writes (a constant in each inlined copy) */
enum { P_U, P_WORDS, P_UNIF };

/* the two 64-bit outputs of each block of vector v: the 64-bit words (e, o) or their uniforms */
P_INLINE void P_CAT(outs_, P_SUFFIX)(const int mode, P_T w[4][P_NV], int v, P_D so, P_T *e, P_T *o) {
  if (mode == P_WORDS) {
    const P_T mask = P_SET1(0xffffffffu);
    *e = P_OR(P_SLLI(w[1][v], 32), P_AND(w[0][v], mask));
    *o = P_OR(P_SLLI(w[3][v], 32), P_AND(w[2][v], mask));
  } else {
    const P_D half = P_SET1PD(0.5);
    *e = P_CASTSI(P_MULPD(P_ADDPD(P_CAT(top53_, P_SUFFIX)(w[0][v], w[1][v]), half), P_SET1PD(0x1.0p-53)));
    *o = P_CASTSI(P_MULPD(P_ADDPD(P_CAT(top53_, P_SUFFIX)(w[2][v], w[3][v]), half), so));
  }
}

/* nv vectors of blocks from chunk c0 + c (block c of this call first); `left` = 64-bit outputs still to write:
 * blocks for P_U (to oe[c..], oo[c..]), values for P_WORDS / P_UNIF (to oe[2c..], interleaved e, o) */
P_INLINE void P_CAT(pass_, P_SUFFIX)(const int mode, const int nv, const P_SCHED *s, uint32_t c0, int c, int left,
                                     P_D so, uint64_t *oe, uint64_t *oo) {
  P_T w[4][P_NV];
  P_CAT(blocks_, P_SUFFIX)(s, c0 + (uint32_t)c, nv, w);
  for (int v = 0; v < nv; v++) {
    P_T e, o;
    P_CAT(outs_, P_SUFFIX)(mode, w, v, so, &e, &o);
    if (mode == P_U) {
      const int b = v * P_W, k = left - b < P_W ? left - b : P_W;
      if (k <= 0) break;
      P_STOREN(oe + c + b, e, k);
      P_STOREN(oo + c + b, o, k);
    } else {
      const int b = 2 * v * P_W, k = left - b;
      if (k <= 0) break;
      P_STOREN(oe + 2 * c + b, P_ZIPLO(e, o), k < P_W ? k : P_W);
      if (k > P_W) P_STOREN(oe + 2 * c + b + P_W, P_ZIPHI(e, o), k - P_W < P_W ? k - P_W : P_W);
    }
  }
}

/* blocks chunk0 .. chunk0 + n - 1; `vals` = the 64-bit outputs (P_WORDS / P_UNIF: 2n or 2n - 1) */
P_INLINE void P_CAT(run_, P_SUFFIX)(const int mode, const uint32_t key[2], const uint32_t ctr[3], uint32_t chunk0,
                                    int n, int vals, double so, uint64_t *oe, uint64_t *oo) {
  P_SCHED s;
  P_CAT(sched_init_, P_SUFFIX)(key, ctr, &s);
  const P_D vso = P_SET1PD(so);
  const int per = mode == P_U ? 1 : 2; /* outputs per block in `vals` */
  int c = 0;
  for (; n - c >= P_NV * P_W; c += P_NV * P_W)
    P_CAT(pass_, P_SUFFIX)(mode, P_NV, &s, chunk0, c, vals - per * c, vso, oe, oo);
  const int rest = (n - c + P_W - 1) / P_W; /* 0 .. P_NV vectors for the last blocks */
  if (rest == 1) P_CAT(pass_, P_SUFFIX)(mode, 1, &s, chunk0, c, vals - per * c, vso, oe, oo);
#if P_NV == 4
  else if (rest == 2) P_CAT(pass_, P_SUFFIX)(mode, 2, &s, chunk0, c, vals - per * c, vso, oe, oo);
  else if (rest == 3) P_CAT(pass_, P_SUFFIX)(mode, 3, &s, chunk0, c, vals - per * c, vso, oe, oo);
#elif P_NV != 2
#error "P_NV is 2 or 4"
#endif
  else if (rest) P_CAT(pass_, P_SUFFIX)(mode, P_NV, &s, chunk0, c, vals - per * c, vso, oe, oo);
}

void P_CAT(rtk_p4x32_wi_, P_SUFFIX)(const uint32_t key[2], const uint32_t ctr[3], uint32_t chunk0, int n,
                                    uint64_t *out) {
  P_CAT(run_, P_SUFFIX)(P_WORDS, key, ctr, chunk0, n, 2 * n, 0.0, out, NULL);
}

void P_CAT(rtk_p4x32_w_, P_SUFFIX)(const uint32_t key[2], const uint32_t ctr[3], uint32_t chunk0, int n, uint32_t *out) {
  /* out[4c + j] = wj: the 64-bit words e, o of block c, little-endian (x86) */
  P_CAT(rtk_p4x32_wi_, P_SUFFIX)(key, ctr, chunk0, n, (uint64_t *)(void *)out);
}

void P_CAT(rtk_p4x32_u_, P_SUFFIX)(const uint32_t key[2], const uint32_t ctr[3], uint32_t chunk0, int n, double so,
                                   double *ue, double *uo) {
  P_CAT(run_, P_SUFFIX)(P_U, key, ctr, chunk0, n, n, so, (uint64_t *)(void *)ue, (uint64_t *)(void *)uo);
}

void P_CAT(rtk_p4x32_i_, P_SUFFIX)(const uint32_t key[2], const uint32_t ctr[3], uint32_t chunk0, int m,
                                   double *out) {
  P_CAT(run_, P_SUFFIX)(P_UNIF, key, ctr, chunk0, (m + 1) / 2, m, 0x1.0p-53, (uint64_t *)(void *)out, NULL);
}
