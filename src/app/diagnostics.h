/* Per-run diagnostics beyond the headline metrics (SPEC §4): accuracy at
 * every grid time against the exact p_t there, sliced marginal accuracy,
 * moment errors, and full inner chains of a few particles.  Accumulated per
 * block on each rank, reduced exactly (integers, or zero-padded sums), written
 * under /runs/<id>/metrics and /runs/<id>/trace. */
#ifndef RTK_APP_DIAGNOSTICS_H
#define RTK_APP_DIAGNOSTICS_H
#include <hdf5.h>
#include <mpi.h>
#include <stdint.h>

#include "rtk/metrics.h"
#include "rtk/sampler.h"

typedef struct rtk_diag_opts {
  int boundary_accuracy; /* histograms at every grid time */
  int64_t slices;        /* random directions for sliced accuracy (0: off) */
  int64_t slice_seed;
  int moments;
  int frechet;           /* Fréchet distance to the exact moments */
  int64_t frechet_sets;  /* exact sample sets measuring its noise floor */
  int64_t trace;         /* particles whose inner chains are stored (0: off) */
  int64_t bins;
  double range_sd;
} rtk_diag_opts;

typedef struct rtk_diag {
  rtk_diag_opts o;
  int S, d, nbnd;    /* nbnd: boundary histograms kept (S+1 or 0) */
  rtk_hist *bh;      /* [nbnd] */
  double *U, *Y;     /* [ns][d] directions, [B][ns] projections */
  double *pad;       /* [RTK_GEMM_ROWS][d + ns] scratch of rtk_project */
  rtk_mixture *smix; /* projected mixture */
  rtk_hist sh;
  int full_cov;
  int64_t *m1, *m2;
  /* Fréchet distance: set 0 = the run's particles, 1..R = exact sets */
  int nfd;               /* 1 + R, or 0 when off */
  rtk_frechet_ref fref;
  int64_t *fs1, *fs2;    /* [nfd][d], [nfd][d][d] exact integer sums */
  double *fY, *fG, *fX;  /* scratch [B][d], [d][d], [B][d] */
  const rtk_mixture *mix;
  uint64_t seed;
  int64_t N, *tid;   /* traced global ids [trace] */
  int M, *toff;      /* trace rows and per-segment offsets [S] */
  double *tbuf;      /* [trace][M][d], zero except this rank's particles */
  int on_device;     /* the cuda backend added the slices, moments and Fréchet set 0 (rtk_diag_device) */
} rtk_diag;

int rtk_diag_init(rtk_diag *g, const rtk_diag_opts *o, const rtk_mixture *mix, const rtk_plan *plan, int64_t N,
                  int B, uint64_t seed);
/* the Fréchet distance is computed up to this dimension (d^2 sums per set) */
#define RTK_FRECHET_MAX_DIM 1024
/* output.trace stores min(trace, N) particles x sum_k (inner_k + 1) chain
 * states x d values, for plans with inner steps (0 otherwise); at most
 * RTK_TRACE_MAX.  Checked when runs are resolved and again at init. */
#define RTK_TRACE_MAX 1e8
double rtk_diag_trace_values(int64_t trace, int64_t N, const rtk_plan *plan, int d);
void rtk_diag_free(rtk_diag *g);
void rtk_diag_boundary(rtk_diag *g, int k, int n, const double *X);
void rtk_diag_inner(rtk_diag *g, int k, int m, int64_t gid0, int n, const double *Z);
/* the final particles of global ids gid0..gid0+n-1 (one block of the global grid); with on_device set, only
 * the Fréchet exact sets (X unused) */
int rtk_diag_final(rtk_diag *g, int64_t gid0, int n, const double *X);
/* what a device backend accumulates of these diagnostics itself: fills the slice, moment and Fréchet (set 0)
 * fields of dd and sets g->on_device */
struct rtk_dev_diag;
void rtk_diag_device(rtk_diag *g, struct rtk_dev_diag *dd);
int rtk_diag_reduce(MPI_Comm comm, rtk_diag *g);
/* metrics group mg, run group rg; collective over comm (the exact bin
 * probabilities and the Fréchet distances are shared out over its ranks) */
int rtk_diag_write(MPI_Comm comm, hid_t mg, hid_t rg, const rtk_diag *g, const rtk_mixture *mix,
                   const rtk_plan *plan, int writer);
/* rtk_hist_exact_probs with the coordinates shared out over the ranks of comm
 * (contiguous row ranges) and gathered: every rank gets the bits that
 * rtk_hist_exact_probs would give it.  Collective. */
void rtk_diag_exact_probs(MPI_Comm comm, const rtk_hist *h, const rtk_mixture *m, double t, double *probs);

#endif
