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

/* a tail of m < MR_W coordinates (x + 0 .. m - 1, ...): padded with zeros, the terms of its lanes, the gradient's
 * first m lanes stored into grp */
MR_ATTR static inline void MR_CAT(mr_tail_, MR_SUFFIX)(size_t m, const double *x, const double *z, const double *gr,
                                                      const double *zp, const double *sp, MR_T e, MR_T q, MR_T tau,
                                                      double *grp, MR_T *r2, MR_T *a2, MR_T *b2) {
  double p[5][MR_W] = {{0}};
  MR_T g;
  memcpy(p[0], x, sizeof(double) * m);
  memcpy(p[1], z, sizeof(double) * m);
  memcpy(p[2], gr, sizeof(double) * m);
  memcpy(p[3], zp, sizeof(double) * m);
  memcpy(p[4], sp, sizeof(double) * m);
  MR_CAT(mr_terms_, MR_SUFFIX)(MR_LOAD(p[0]), MR_LOAD(p[1]), MR_LOAD(p[2]), MR_LOAD(p[3]), MR_LOAD(p[4]), e, q, tau,
                               &g, r2, a2, b2);
  MR_STORE(p[0], g);
  memcpy(grp, p[0], sizeof(double) * m);
}

/* the first n lanes of the squared terms added to the three sums, lane by lane (j ascending: the scalar loop's
 * order, so the sums keep its bits) */
MR_ATTR static inline void MR_CAT(mr_add3_, MR_SUFFIX)(size_t n, MR_T r2, MR_T a2, MR_T b2, double *quad, double *f,
                                                      double *b) {
  double t[3][MR_W];
  MR_STORE(t[0], r2);
  MR_STORE(t[1], a2);
  MR_STORE(t[2], b2);
  for (size_t l = 0; l < n; l++) {
    *quad += t[0][l];
    *f += t[1][l];
    *b += t[2][l];
  }
}

MR_ATTR void MR_CAT(rtk_mala_row_, MR_SUFFIX)(int d, const double *restrict x, const double *restrict z,
                                             const double *restrict gr, const double *restrict zp,
                                             const double *restrict sp, double e, double q, double tau,
                                             double *restrict grp, double sums[3]) {
  const MR_T ve = MR_SET1(e), vq = MR_SET1(q), vt = MR_SET1(tau);
  double quad = 0, f = 0, b = 0;
  MR_T g, r2, a2, b2;
  int j = 0;
  for (; j + MR_W <= d; j += MR_W) {
    MR_CAT(mr_terms_, MR_SUFFIX)(MR_LOAD(x + j), MR_LOAD(z + j), MR_LOAD(gr + j), MR_LOAD(zp + j), MR_LOAD(sp + j),
                                 ve, vq, vt, &g, &r2, &a2, &b2);
    MR_STORE(grp + j, g);
    MR_CAT(mr_add3_, MR_SUFFIX)(MR_W, r2, a2, b2, &quad, &f, &b);
  }
  if (j < d) { /* the tail, padded with zeros */
    const size_t m = (size_t)(d - j);
    MR_CAT(mr_tail_, MR_SUFFIX)(m, x + j, z + j, gr + j, zp + j, sp + j, ve, vq, vt, grp + j, &r2, &a2, &b2);
    MR_CAT(mr_add3_, MR_SUFFIX)(m, r2, a2, b2, &quad, &f, &b);
  }
  sums[0] = quad;
  sums[1] = f;
  sums[2] = b;
}

#ifdef MR_TRANSPOSE
/* MR_W rows at once (mala_row.h, rtk_mala_rows_fn; MR_W = RTK_MALA_ROWS): per vector of coordinates each row's
 * elementwise part as above, then its squared terms transposed, MR_TRANSPOSE(v): v[p][l] -> v[l][p], so that
 * vector l holds coordinate j + l of every row, and added to three vector sums whose lane p is row p's sum: one
 * vector add per coordinate and sum, j ascending, i.e. each row's three sums term by term in the scalar loop's
 * order (the same bits), with MR_W rows' chains in one.  The tail is padded as above; only its first vectors
 * (coordinates) are added. */
MR_ATTR void MR_CAT(rtk_mala_rows_, MR_SUFFIX)(int d, const double *restrict x, const double *restrict z,
                                              const double *restrict gr, const double *restrict zp,
                                              const double *restrict sp, double e, double q,
                                              const double *restrict tau, double *restrict grp,
                                              double *restrict sums) {
  const MR_T ve = MR_SET1(e), vq = MR_SET1(q);
  MR_T vt[MR_W], acc[3], t[3][MR_W], g;
  for (int p = 0; p < MR_W; p++) vt[p] = MR_SET1(tau[p]);
  for (int c = 0; c < 3; c++) acc[c] = MR_SET1(0.0);
  int j = 0;
  for (; j + MR_W <= d; j += MR_W) {
    for (int p = 0; p < MR_W; p++) {
      const size_t o = (size_t)p * d + j;
      MR_CAT(mr_terms_, MR_SUFFIX)(MR_LOAD(x + o), MR_LOAD(z + o), MR_LOAD(gr + o), MR_LOAD(zp + o),
                                   MR_LOAD(sp + o), ve, vq, vt[p], &g, &t[0][p], &t[1][p], &t[2][p]);
      MR_STORE(grp + o, g);
    }
    for (int c = 0; c < 3; c++) MR_TRANSPOSE(t[c]);
    for (int l = 0; l < MR_W; l++)
      for (int c = 0; c < 3; c++) acc[c] = MR_ADD(acc[c], t[c][l]);
  }
  if (j < d) { /* the tail, padded with zeros */
    const size_t m = (size_t)(d - j);
    for (int p = 0; p < MR_W; p++) {
      const size_t o = (size_t)p * d + j;
      MR_CAT(mr_tail_, MR_SUFFIX)(m, x + o, z + o, gr + o, zp + o, sp + o, ve, vq, vt[p], grp + o, &t[0][p], &t[1][p],
                                  &t[2][p]);
    }
    for (int c = 0; c < 3; c++) MR_TRANSPOSE(t[c]);
    for (size_t l = 0; l < m; l++)
      for (int c = 0; c < 3; c++) acc[c] = MR_ADD(acc[c], t[c][l]);
  }
  double out[3][MR_W];
  for (int c = 0; c < 3; c++) MR_STORE(out[c], acc[c]);
  for (int p = 0; p < MR_W; p++)
    for (int c = 0; c < 3; c++) sums[3 * p + c] = out[c][p];
}
#endif
