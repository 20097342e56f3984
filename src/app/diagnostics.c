#include "diagnostics.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "io_hdf5.h"
#include "rtk/backend.h"
#include "rtk/error.h"
#include "study.h"
#include "testhook.h"

/* boundary histograms are skipped above this many counters per rank, or
 * when their exact bin probabilities would take more than this many normal
 * CDFs (about a minute: d = 784, K = 1000 allows 53 grid times) */
#define RTK_MAX_BOUNDARY_COUNTERS (1 << 24)
#define RTK_MAX_BOUNDARY_CDFS 4.0e9
/* below these sizes the exact bin probabilities (normal CDFs) and the
 * Fréchet distances (eigenvalues of order d) cost less than the collectives
 * that would share them out over the ranks (about 1 ms each at 64 ranks) */
#define RTK_DIAG_SHARE_CDFS 2.5e5
#define RTK_DIAG_SHARE_FD_DIM 128

int rtk_diag_init(rtk_diag *g, const rtk_diag_opts *o, const rtk_mixture *mix, const rtk_plan *plan, int64_t N,
                  int B, uint64_t seed) {
  memset(g, 0, sizeof *g);
  g->o = *o;
  g->mix = mix;
  g->seed = seed;
  g->S = plan->nseg;
  g->d = mix->d;
  g->N = N;
  const int nb = (int)o->bins, S = plan->nseg;
  if (o->boundary_accuracy && (double)(S + 1) * mix->d * (nb + 2) <= RTK_MAX_BOUNDARY_COUNTERS &&
      (double)(S + 1) * mix->d * (nb + 1) * mix->K <= RTK_MAX_BOUNDARY_CDFS) {
    g->nbnd = S + 1;
    RTK_MALLOC(g->bh, g->nbnd);
    for (int k = 0; k <= S; k++) RTK_CHECK(rtk_hist_init(mix, plan->times[k], nb, o->range_sd, &g->bh[k]));
  }
  if (o->slices > 0) {
    const int ns = (int)o->slices;
    RTK_MALLOC(g->U, (size_t)ns * mix->d);
    RTK_MALLOC(g->Y, (size_t)B * ns);
    RTK_MALLOC(g->pad, (size_t)RTK_GEMM_ROWS * (mix->d + ns));
    rtk_random_directions((uint64_t)o->slice_seed, ns, mix->d, g->U);
    RTK_CHECK(rtk_mixture_project(mix, ns, g->U, &g->smix));
    RTK_CHECK(rtk_hist_init(g->smix, plan->times[S], nb, o->range_sd, &g->sh));
  }
  if (o->moments) {
    g->full_cov = mix->d <= 64; /* d^2 work per particle above that: diagonal only */
    RTK_MALLOC(g->m1, mix->d);
    RTK_MALLOC(g->m2, g->full_cov ? (size_t)mix->d * mix->d : (size_t)mix->d);
  }
  if (o->frechet && mix->d <= RTK_FRECHET_MAX_DIM && N >= 2) {
    const size_t d = (size_t)mix->d;
    g->nfd = 1 + (int)o->frechet_sets;
    RTK_CHECK(rtk_frechet_ref_init(mix, plan->times[S], &g->fref));
    RTK_MALLOC(g->fs1, g->nfd * d);
    RTK_MALLOC(g->fs2, g->nfd * d * d);
    RTK_MALLOC(g->fY, (size_t)B * d);
    RTK_MALLOC(g->fG, d * d);
    if (o->frechet_sets > 0) RTK_MALLOC(g->fX, (size_t)B * d);
  }
  int64_t inner = 0;
  for (int k = 0; k < S; k++) inner += plan->inner[k];
  if (o->trace > 0 && inner > 0) { /* only samplers with inner chains (RTK) have something to trace */
    const int64_t T = o->trace < N ? o->trace : N;
    g->o.trace = T;
    RTK_MALLOC(g->tid, T);
    for (int64_t i = 0; i < T; i++) g->tid[i] = i * N / T;
    RTK_MALLOC(g->toff, S);
    for (int k = 0; k < S; k++) {
      g->toff[k] = g->M;
      g->M += plan->inner[k] + 1;
    }
    const double vals = rtk_diag_trace_values(o->trace, N, plan, mix->d);
    if (vals > RTK_TRACE_MAX)
      return RTK_ERR(RTK_ERR_INPUT, "output.trace = %lld would store %.3g values; trace fewer particles",
                     (long long)T, vals);
    RTK_MALLOC(g->tbuf, (size_t)T * g->M * mix->d);
  }
  return RTK_OK;
}

double rtk_diag_trace_values(int64_t trace, int64_t N, const rtk_plan *plan, int d) {
  int64_t inner = 0, M = 0;
  for (int k = 0; k < plan->nseg; k++) {
    inner += plan->inner[k];
    M += plan->inner[k] + 1;
  }
  if (trace <= 0 || inner <= 0) return 0;
  return (double)(trace < N ? trace : N) * (double)M * d;
}

void rtk_diag_free(rtk_diag *g) {
  for (int k = 0; k < g->nbnd; k++) rtk_hist_free(&g->bh[k]);
  free(g->bh);
  free(g->U);
  free(g->Y);
  free(g->pad);
  rtk_mixture_free(g->smix);
  if (g->smix) rtk_hist_free(&g->sh);
  free(g->m1);
  free(g->m2);
  if (g->nfd) rtk_frechet_ref_free(&g->fref);
  free(g->fs1);
  free(g->fs2);
  free(g->fY);
  free(g->fG);
  free(g->fX);
  free(g->tid);
  free(g->toff);
  free(g->tbuf);
  memset(g, 0, sizeof *g);
}

void rtk_diag_boundary(rtk_diag *g, int k, int n, const double *X) {
  if (k < g->nbnd) rtk_hist_add(&g->bh[k], n, X);
}

void rtk_diag_inner(rtk_diag *g, int k, int m, int64_t gid0, int n, const double *Z) {
  if (!g->tbuf) return;
  for (int64_t i = 0; i < g->o.trace; i++) {
    const int64_t id = g->tid[i];
    if (id < gid0 || id >= gid0 + n) continue;
    memcpy(g->tbuf + ((size_t)i * g->M + g->toff[k] + m) * g->d, Z + (size_t)(id - gid0) * g->d,
           sizeof(double) * g->d);
  }
}

/* key of the r-th exact set that measures the Fréchet floor: independent of
 * the run's own streams (another Philox key), the same on every rank */
static uint64_t floor_seed(uint64_t seed, int r) { return seed ^ (0x9E3779B97F4A7C15ULL * (uint64_t)(r + 1)); }

void rtk_diag_device(rtk_diag *g, rtk_dev_diag *dd) {
  if (g->smix) {
    dd->shist = &g->sh;
    dd->U = g->U;
    dd->ns = (int)g->o.slices;
  }
  dd->m1 = g->m1;
  dd->m2 = g->m2;
  dd->full_cov = g->full_cov;
  if (g->nfd) {
    dd->fmean = g->fref.mean;
    dd->fs1 = g->fs1;
    dd->fs2 = g->fs2;
  }
  g->on_device = 1;
}

int rtk_diag_final(rtk_diag *g, int64_t gid0, int n, const double *X) {
  if (g->smix && !g->on_device) {
    rtk_project(n, g->d, X, (int)g->o.slices, g->U, g->Y, g->pad);
    rtk_hist_add(&g->sh, n, g->Y);
  }
  if (g->m1 && !g->on_device) rtk_moment_sums(n, g->d, X, g->full_cov, g->m1, g->m2);
  const size_t d = (size_t)g->d;
  for (int s = g->on_device ? 1 : 0; s < g->nfd; s++) {
    const double *Xs = X;
    if (s > 0) {
      rtk_mixture_sample(g->mix, g->fref.t, floor_seed(g->seed, s - 1), (uint64_t)gid0, n, g->fX);
      Xs = g->fX;
    }
    rtk_frechet_sums(&g->fref, n, Xs, g->fY, g->fG, g->fs1 + s * d, g->fs2 + s * d * d);
  }
  return RTK_OK;
}

/* the boundary histograms' counts, packed into one buffer of at most
 * RTK_PACK_COUNTERS at a time: one collective for many small histograms
 * (ddpm with 400 NFE has 401) instead of one each; integer sums, so the
 * totals are the same */
#define RTK_PACK_COUNTERS (1 << 20)
static void reduce_boundary(MPI_Comm comm, rtk_diag *g) {
  const size_t per = g->nbnd ? (size_t)g->d * (g->bh[0].nbins + 2) : 0;
  const int step = per && per < RTK_PACK_COUNTERS ? (int)(RTK_PACK_COUNTERS / per) : 1;
  int64_t *buf = step > 1 ? malloc(sizeof(int64_t) * per * (size_t)step) : NULL;
  int ok = step == 1 || buf; /* the same choice on every rank */
  MPI_Allreduce(MPI_IN_PLACE, &ok, 1, MPI_INT, MPI_MIN, comm);
  if (!ok || step == 1) {
    free(buf);
    for (int k = 0; k < g->nbnd; k++) MPI_Allreduce(MPI_IN_PLACE, g->bh[k].count, (int)per, MPI_INT64_T, MPI_SUM, comm);
    return;
  }
  for (int k0 = 0; k0 < g->nbnd; k0 += step) {
    const int m = g->nbnd - k0 < step ? g->nbnd - k0 : step;
    for (int k = 0; k < m; k++) memcpy(buf + k * per, g->bh[k0 + k].count, sizeof(int64_t) * per);
    MPI_Allreduce(MPI_IN_PLACE, buf, (int)(per * (size_t)m), MPI_INT64_T, MPI_SUM, comm);
    for (int k = 0; k < m; k++) memcpy(g->bh[k0 + k].count, buf + k * per, sizeof(int64_t) * per);
  }
  free(buf);
}

int rtk_diag_reduce(MPI_Comm comm, rtk_diag *g) {
  reduce_boundary(comm, g);
  if (g->smix)
    MPI_Allreduce(MPI_IN_PLACE, g->sh.count, g->sh.d * (g->sh.nbins + 2), MPI_INT64_T, MPI_SUM, comm);
  if (g->m1) {
    MPI_Allreduce(MPI_IN_PLACE, g->m1, g->d, MPI_INT64_T, MPI_SUM, comm);
    MPI_Allreduce(MPI_IN_PLACE, g->m2, g->full_cov ? g->d * g->d : g->d, MPI_INT64_T, MPI_SUM, comm);
  }
  if (g->nfd) {
    const int64_t n1 = (int64_t)g->nfd * g->d, n2 = n1 * g->d;
    MPI_Allreduce(MPI_IN_PLACE, g->fs1, (int)n1, MPI_INT64_T, MPI_SUM, comm);
    for (int64_t o = 0; o < n2; o += 1 << 26) /* counts fit an int */
      MPI_Allreduce(MPI_IN_PLACE, g->fs2 + o, (int)(n2 - o < (1 << 26) ? n2 - o : (1 << 26)), MPI_INT64_T, MPI_SUM, comm);
  }
  if (g->tbuf) { /* each traced row is nonzero on one rank only: the sum is exact */
    int rank;
    MPI_Comm_rank(comm, &rank);
    size_t n = (size_t)g->o.trace * g->M * g->d;
    MPI_Reduce(rank == 0 ? MPI_IN_PLACE : g->tbuf, g->tbuf, (int)n, MPI_DOUBLE, MPI_SUM, 0, comm);
  }
  return RTK_OK;
}

void rtk_diag_exact_probs(MPI_Comm comm, const rtk_hist *h, const rtk_mixture *m, double t, double *probs) {
  int rank, size;
  MPI_Comm_rank(comm, &rank);
  MPI_Comm_size(comm, &size);
  if ((double)h->d * (h->nbins + 1) * m->K < RTK_DIAG_SHARE_CDFS || size == 1) { /* not worth two collectives */
    rtk_hist_exact_probs(h, m, t, probs);
    return;
  }
  int *cnt = malloc(sizeof(int) * 2 * (size_t)size), ok = cnt != NULL;
  MPI_Allreduce(MPI_IN_PLACE, &ok, 1, MPI_INT, MPI_MIN, comm);
  if (!ok) { /* every rank computes every row (the same bits, only slower) */
    free(cnt);
    rtk_hist_exact_probs(h, m, t, probs);
    return;
  }
  int *dsp = cnt + size;
  for (int r = 0; r < size; r++) {
    dsp[r] = (int)((int64_t)h->d * r / size);
    cnt[r] = (int)((int64_t)h->d * (r + 1) / size) - dsp[r];
  }
  rtk_hist_exact_probs_rows(h, m, t, dsp[rank], dsp[rank] + cnt[rank], probs);
  MPI_Datatype row; /* one coordinate's nbins + 2 probabilities */
  MPI_Type_contiguous(h->nbins + 2, MPI_DOUBLE, &row);
  MPI_Type_commit(&row);
  MPI_Allgatherv(MPI_IN_PLACE, 0, MPI_DATATYPE_NULL, probs, cnt, dsp, row, comm);
  MPI_Type_free(&row);
  free(cnt);
}

/* Every value is computed, and every buffer allocated, before the first
 * write; the outcome is agreed across ranks (rtk_h5_agree) before the
 * collective writes start, so an allocation or numerical failure on one rank
 * stops every rank with one message instead of leaving the others waiting
 * in a collective write (test hook: RTK_TEST_FAIL=diag_alloc@RANK). */
int rtk_diag_write(MPI_Comm comm, hid_t mg, hid_t rg, const rtk_diag *g, const rtk_mixture *mix,
                   const rtk_plan *plan, int writer) {
  int rc = RTK_OK, rank, size;
  MPI_Comm_rank(comm, &rank);
  MPI_Comm_size(comm, &size);
  const int64_t N = g->N;
  const int ns = g->smix ? (int)g->o.slices : 0, R = g->nfd ? g->nfd - 1 : 0;
  size_t nprob = g->smix ? (size_t)ns * (g->sh.nbins + 2) : 1;
  for (int k = 0; k < g->nbnd; k++)
    if ((size_t)g->bh[k].d * (g->bh[k].nbins + 2) > nprob) nprob = (size_t)g->bh[k].d * (g->bh[k].nbins + 2);
  const size_t M = g->tbuf ? (size_t)g->M : 0;
  double *probs = malloc(sizeof(double) * nprob), *acc = malloc(sizeof(double) * (g->nbnd + 1)),
         *fl = malloc(sizeof(double) * (g->nbnd + 1)), *tv = malloc(sizeof(double) * (ns + 1)),
         *ffl = calloc((size_t)R + 1, sizeof(double));
  int64_t *seg = malloc(sizeof(int64_t) * (M + 1)), *step = malloc(sizeof(int64_t) * (M + 1));
  if (!probs || !acc || !fl || !tv || !ffl || !seg || !step || rtk_test_fail("diag_alloc"))
    rc = RTK_ERR(RTK_ERR_MEM, "out of memory writing the diagnostics");
  rc = rtk_collective(comm, rc); /* the collectives below run on every rank or on none */
  /* boundary accuracy at every grid time */
  for (int k = 0; k < g->nbnd && !rc; k++) {
    rtk_diag_exact_probs(comm, &g->bh[k], mix, plan->times[k], probs);
    rtk_marginal_result r;
    rtk_marginal_metrics(&g->bh[k], probs, N, NULL, &r);
    acc[k] = r.accuracy;
    fl[k] = 1 - r.noise_floor;
  }
  /* sliced accuracy */
  rtk_marginal_result sr;
  memset(&sr, 0, sizeof sr);
  if (g->smix && !rc) {
    rtk_diag_exact_probs(comm, &g->sh, g->smix, plan->times[plan->nseg], probs);
    rtk_marginal_metrics(&g->sh, probs, N, tv, &sr);
  }
  /* moment errors and the moment KL */
  double me = NAN, ce = NAN;
  rtk_moment_kl_result kl;
  memset(&kl, 0, sizeof kl);
  if (g->m1 && !rc) {
    rtk_moment_errors(mix, plan->times[plan->nseg], N, g->full_cov, g->m1, g->m2, &me, &ce);
    rc = rtk_moment_kl(mix, plan->times[plan->nseg], N, g->full_cov, g->m1, g->m2, &kl);
  }
  rc = rtk_collective(comm, rc);
  /* the Fréchet distance (set 0) and its floor sets (1..R): set s on rank
   * s % size (an eigenvalue problem of order d each), then sent to all */
  double fd = NAN, mean = 0, var = 0;
  if (g->nfd && !rc) {
    const size_t d = (size_t)g->d;
    const int share = g->d >= RTK_DIAG_SHARE_FD_DIM && size > 1; /* else every rank computes every set */
    for (int s = share ? rank : 0; s <= R && !rc; s += share ? size : 1)
      rc = rtk_frechet_distance(&g->fref, N, g->fs1 + s * d, g->fs2 + s * d * d, s ? &ffl[s - 1] : &fd);
    rc = rtk_collective(comm, rc);
    for (int s = 0; s <= R && !rc && share; s++) MPI_Bcast(s ? &ffl[s - 1] : &fd, 1, MPI_DOUBLE, s % size, comm);
    for (int s = 1; s <= R && !rc; s++) mean += ffl[s - 1] / R;
    for (int s = 0; s < R; s++) var += (ffl[s] - mean) * (ffl[s] - mean) / (R > 1 ? R - 1 : 1);
  }
  /* trace rows: segment and step of each */
  if (g->tbuf && !rc)
    for (int k = 0; k < g->S; k++)
      for (int m = 0; m <= plan->inner[k]; m++) {
        seg[g->toff[k] + m] = k;
        step[g->toff[k] + m] = m;
      }
  rc = rtk_h5_agree(rc);
#define W(call) \
  if (!rc) rc = (call)
  if (g->nbnd) {
    hsize_t n = (hsize_t)g->nbnd;
    W(rtk_h5_write_f64(mg, "boundary_accuracy", 1, &n, acc, writer));
    W(rtk_h5_write_f64(mg, "boundary_exact_level", 1, &n, fl, writer));
  }
  if (g->smix) {
    hsize_t hs = (hsize_t)ns, hu[2] = {(hsize_t)ns, (hsize_t)g->d};
    double lvl = 1 - sr.noise_floor;
    W(rtk_h5_write_f64(mg, "sliced_accuracy", 0, NULL, &sr.accuracy, writer));
    W(rtk_h5_write_f64(mg, "sliced_exact_level", 0, NULL, &lvl, writer));
    W(rtk_h5_write_f64(mg, "sliced_tv", 1, &hs, tv, writer));
    W(rtk_h5_write_f64(mg, "sliced_directions", 2, hu, g->U, writer));
  }
  if (g->m1) {
    W(rtk_h5_write_f64(mg, "mean_error", 0, NULL, &me, writer));
    W(rtk_h5_write_f64(mg, g->full_cov ? "cov_error" : "var_error", 0, NULL, &ce, writer));
    W(rtk_h5_write_f64(mg, "moment_kl", 0, NULL, &kl.kl, writer));
    W(rtk_h5_write_f64(mg, "moment_kl_se", 0, NULL, &kl.se, writer));
    W(rtk_h5_write_f64(mg, "moment_kl_floor", 0, NULL, &kl.floor, writer));
  }
  if (g->nfd) {
    const double sd = R > 1 ? sqrt(var) : NAN, floor = R > 0 ? mean : NAN, excess = fd - floor,
                 se = R > 1 ? sd / sqrt((double)R) : NAN;
    hsize_t hR = (hsize_t)R;
    W(rtk_h5_write_f64(mg, "frechet_distance", 0, NULL, &fd, writer));
    W(rtk_h5_write_f64(mg, "frechet_floor", 0, NULL, &floor, writer));
    W(rtk_h5_write_f64(mg, "frechet_floor_sd", 0, NULL, &sd, writer));
    W(rtk_h5_write_f64(mg, "frechet_floor_se", 0, NULL, &se, writer));
    W(rtk_h5_write_f64(mg, "frechet_excess", 0, NULL, &excess, writer));
    if (R > 0) W(rtk_h5_write_f64(mg, "frechet_floor_sets", 1, &hR, ffl, writer));
  }
  if (g->tbuf) {
    hid_t tg = -1;
    W(rtk_h5_group(rg, "trace", &tg));
    hsize_t T = (hsize_t)g->o.trace, dims[3] = {T, (hsize_t)g->M, (hsize_t)g->d}, hM = (hsize_t)g->M;
    W(rtk_h5_write_i64(tg, "ids", 1, &T, g->tid, writer));
    W(rtk_h5_write_f64(tg, "states", 3, dims, g->tbuf, writer));
    W(rtk_h5_write_i64(tg, "segment", 1, &hM, seg, writer));
    W(rtk_h5_write_i64(tg, "step", 1, &hM, step, writer));
    if (tg >= 0) H5Gclose(tg);
  }
#undef W
  free(probs);
  free(acc);
  free(fl);
  free(tv);
  free(ffl);
  free(seg);
  free(step);
  return rc;
}
