/* Compute backends (IOR aiori style: a struct of function pointers, lookup by
 * name).  The cpu backend is the block loop of rtk_sample_blocks; the cuda
 * backend (src/cuda/, built when CMake finds the CUDA toolkit) runs a rank's
 * whole particle range on one GPU: particles, random numbers, score kernel,
 * sampler updates, acceptance tests and the boundary histograms stay on the
 * device, and only the integer counters and the samples the driver asks for come back (the final
 * particles can stay on the device after run for the linearised standard error: lin_sums, release).
 * No MPI here: the driver (src/app/study.c) gives each rank its node-local
 * rank, and the backend picks its device from it. */
#ifndef RTK_BACKEND_H
#define RTK_BACKEND_H
#include <stddef.h>
#include <stdint.h>

#include "rtk/metrics.h"
#include "rtk/sampler.h"
#include "rtk/score.h"

enum rtk_backend_kind { RTK_BACKEND_CPU = 0, RTK_BACKEND_CUDA = 1 };
#define RTK_BACKEND_CHOICES "cpu|cuda"
enum rtk_precision { RTK_PREC_FP64 = 0, RTK_PREC_FP32 = 1 };
#define RTK_PRECISION_CHOICES "fp64|fp32"

/* Final-sample diagnostics a device backend accumulates on the device (docs/design.md, "What stays on the
 * device"): the same exact integer sums the host would add (rtk/metrics.h), added into these host arrays.
 * A NULL array: that diagnostic is left to the host. */
typedef struct rtk_dev_diag {
  rtk_hist *hist;        /* final coordinate histograms (rtk_hist_add) */
  int64_t *modes;        /* [K] mode counts: the most responsible component at the final time (rtk_mix_argmax) */
  rtk_hist *shist;       /* sliced histograms of u.x (rtk_project + rtk_hist_add) */
  const double *U;       /* [ns][d] unit directions */
  int ns;
  int64_t *m1, *m2;      /* moment sums (rtk_moment_sums), m2 [d][d] if full_cov, else [d] */
  int full_cov;
  const double *fmean;   /* Fréchet sums of the particles (rtk_frechet_sums) about this mean [d] */
  int64_t *fs1, *fs2;    /* [d], [d][d] (upper triangle) */
} rtk_dev_diag;

/* One rank's share of a run on a device backend. */
typedef struct rtk_dev_job {
  const rtk_block_ctx *ctx;       /* mix, cfg, plan, seed; at_boundary (may be NULL) gets X = NULL
                                     unless copy_boundaries */
  const rtk_sampler_ops *sampler;
  int precision;                  /* enum rtk_precision */
  int64_t p0, n;                  /* global ids p0 .. p0+n-1 */
  double *X;                      /* out: [n][d] final particles (host): only the first copy_rows rows are written */
  int64_t copy_rows;              /* final particles copied back into X (0: none; n: all) */
  int keep;                       /* keep the final particles on the device after run, for lin_sums (until release) */
  rtk_hist *bh;                   /* [nbnd] boundary histograms: counts are added on the device */
  int nbnd;
  int copy_boundaries;            /* at_boundary receives a host copy of X at every grid time */
  rtk_dev_diag *diag;             /* final-sample diagnostics on the device (NULL: all on the host) */
} rtk_dev_job;

typedef struct rtk_backend_ops {
  const char *name;
  /* 0 if this backend runs (sampler, score model, precision, cfg, trace); else RTK_ERR_INPUT with a
   * message that says why (no device needed: called when the study is validated) */
  int (*check)(const rtk_sampler_ops *s, const rtk_score_ops *score, int precision, const rtk_sampler_cfg *cfg,
               int64_t trace);
  /* choose this rank's device from its node-local rank (more ranks than devices: RTK_ERR_INPUT) */
  int (*attach)(int local_rank, int local_size);
  /* the sampler on the rank's particles; st gets nfe/accept/propose/seconds per segment */
  int (*run)(const rtk_dev_job *job, rtk_stats *st);
  /* rtk_tv_lin_sums on the final particles the last run kept (job->keep): *s1 += sum of u, *s2 += sum of u^2,
   * u = sum over coordinates i of sign[i][bin of x_i in h] (bins by rtk_hist_bin, as the host's); exact integers */
  int (*lin_sums)(const rtk_hist *h, const signed char *sign, int64_t *s1, int64_t *s2);
  /* free the kept particles (a no-op if none) */
  void (*release)(void);
  void (*detach)(void);
  /* one line naming the device (for logs; may be "") */
  const char *(*describe)(void);
} rtk_backend_ops;

/* src/cuda/backend_cuda.cu, or src/core/backend_none.c (every call refused) without the toolkit */
extern const rtk_backend_ops rtk_backend_cuda;
/* 1 if this build has the cuda backend compiled in */
extern const int rtk_have_cuda;

#endif
