/* rtk-mala's per-row pass (sampler_rtk.c assemble_row) with the elementwise part in vector lanes: included by
 * mala_row_avx2.c with MR_* defined (and, for AVX2 and AVX-512F, by bench/explore/mala_row.c).
 *
 * For particle i after its proposal's score is known, coordinate j:
 *   r = x' - e zp,  g = -s(zp) - e r / q           (the segment gradient at zp, into grp),
 *   a = zp - z + tau grad(z),  b = z - zp + tau g  (the proposal densities' terms),
 * and the three sums quad = sum r^2, fwd = sum a^2, bwd = sum b^2.  Each lane does exactly the IEEE operations
 * of the scalar loop (rtk/update.h: RTK_SEG_RESID, RTK_SEG_GRAD, rtk_mala_terms; no FMA: compiled with
 * -ffp-contract=off and without -mfma; -s is a sign flip as in C), so every element has the scalar loop's bits
 * at any vector width.  The sums stay scalar: one accumulator each, j ascending, as the scalar loop adds them.
 * A tail shorter than a vector is padded with zeros and only its first lanes are stored and added, so every
 * coordinate goes through the vector code (a wrong lane shows at any d, see mpi.reproducibility). */
#include <string.h>

#define MR_CAT2(a, b) a##b
#define MR_CAT(a, b) MR_CAT2(a, b)

#ifndef MR_ATTR
#define MR_ATTR
#endif

MR_ATTR static inline void MR_CAT(mr_terms_, MR_SUFFIX)(MR_T x, MR_T z, MR_T gr, MR_T zp, MR_T sp, MR_T e, MR_T q,
                                                       MR_T tau, MR_T *g, MR_T *r2, MR_T *a2, MR_T *b2) {
  const MR_T r = MR_SUB(x, MR_MUL(e, zp));                 /* RTK_SEG_RESID(x, zp, e) */
  *g = MR_SUB(MR_NEG(sp), MR_DIV(MR_MUL(e, r), q));         /* RTK_SEG_GRAD(sp, r, e, q) */
  const MR_T a = MR_ADD(MR_SUB(zp, z), MR_MUL(tau, gr));    /* rtk_mala_terms */
  const MR_T b = MR_ADD(MR_SUB(z, zp), MR_MUL(tau, *g));
  *r2 = MR_MUL(r, r);
  *a2 = MR_MUL(a, a);
  *b2 = MR_MUL(b, b);
}

MR_ATTR void MR_CAT(rtk_mala_row_, MR_SUFFIX)(int d, const double *restrict x, const double *restrict z,
                                             const double *restrict gr, const double *restrict zp,
                                             const double *restrict sp, double e, double q, double tau,
                                             double *restrict grp, double sums[3]) {
  const MR_T ve = MR_SET1(e), vq = MR_SET1(q), vt = MR_SET1(tau);
  double quad = 0, f = 0, b = 0, t[3][MR_W];
  MR_T g, r2, a2, b2;
  int j = 0;
  for (; j + MR_W <= d; j += MR_W) {
    MR_CAT(mr_terms_, MR_SUFFIX)(MR_LOAD(x + j), MR_LOAD(z + j), MR_LOAD(gr + j), MR_LOAD(zp + j), MR_LOAD(sp + j),
                                 ve, vq, vt, &g, &r2, &a2, &b2);
    MR_STORE(grp + j, g);
    MR_STORE(t[0], r2);
    MR_STORE(t[1], a2);
    MR_STORE(t[2], b2);
    for (int l = 0; l < MR_W; l++) {
      quad += t[0][l];
      f += t[1][l];
      b += t[2][l];
    }
  }
  if (j < d) { /* the tail, padded with zeros */
    const size_t m = (size_t)(d - j);
    double p[5][MR_W] = {{0}};
    memcpy(p[0], x + j, sizeof(double) * m);
    memcpy(p[1], z + j, sizeof(double) * m);
    memcpy(p[2], gr + j, sizeof(double) * m);
    memcpy(p[3], zp + j, sizeof(double) * m);
    memcpy(p[4], sp + j, sizeof(double) * m);
    MR_CAT(mr_terms_, MR_SUFFIX)(MR_LOAD(p[0]), MR_LOAD(p[1]), MR_LOAD(p[2]), MR_LOAD(p[3]), MR_LOAD(p[4]), ve, vq,
                                 vt, &g, &r2, &a2, &b2);
    MR_STORE(p[0], g);
    memcpy(grp + j, p[0], sizeof(double) * m);
    MR_STORE(t[0], r2);
    MR_STORE(t[1], a2);
    MR_STORE(t[2], b2);
    for (size_t l = 0; l < m; l++) {
      quad += t[0][l];
      f += t[1][l];
      b += t[2][l];
    }
  }
  sums[0] = quad;
  sums[1] = f;
  sums[2] = b;
}
