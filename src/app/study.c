/* The MPI driver: init (target, plan, shard) / kernel (blocks of particles
 * through the sampler) / report (collective reductions, metrics, parallel
 * HDF5, summary table).  Ranks own contiguous ranges of the *global* block
 * grid, so every block holds the same particles whatever the rank count. */
#include <errno.h>
#include <libgen.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "io_hdf5.h"
#include "outfile.h"
#include "progress.h"
#include "verify.h"
#include "rtk/blas.h"
#include "rtk/error.h"
#include "rtk/metrics.h"
#include "rtk/rng.h"
#include "rtk/timers.h"
#include "study.h"
#include "testhook.h"
#include "target_file.h"
#include "journal.h"
#include "schedule.h"

#ifdef RTK_HAVE_OPENBLAS_THREADS
void openblas_set_num_threads(int num_threads);
#endif


int rtk_collective(MPI_Comm comm, int rc) {
  int rank, size, me, first;
  MPI_Comm_rank(comm, &rank);
  MPI_Comm_size(comm, &size);
  me = rc ? rank : size;
  MPI_Allreduce(&me, &first, 1, MPI_INT, MPI_MIN, comm);
  if (first == size) return RTK_OK;
  int code = rc;
  char msg[1024];
  snprintf(msg, sizeof msg, "%s", rtk_error_message());
  MPI_Bcast(&code, 1, MPI_INT, first, comm);
  MPI_Bcast(msg, sizeof msg, MPI_CHAR, first, comm);
  if (rank != first) return rtk_error_set(code, __FILE__, __LINE__, __func__, "%s (rank %d)", msg, first);
  return code;
}

/* the BLAS this study runs on (rank 0's, the same on every rank): root attributes and each run's `blas` */
static rtk_blas_info study_blas;

static void blas_agreed(MPI_Comm comm, rtk_blas_info *b) {
  int rank;
  MPI_Comm_rank(comm, &rank);
  if (rank == 0) rtk_blas_query(b);
  MPI_Bcast(b, (int)sizeof *b, MPI_BYTE, 0, comm);
}

typedef struct run_result {
  double nfe, accuracy, floor, excess, mode_tv, accept, wall, nfe_per_s, acc_se, mode_se;
  double phase[2][RTK_NPHASES]; /* seconds per phase, [0] max and [1] mean over ranks (rtk/timers.h); NaN if not known */
} run_result;

typedef struct bnd_user {
  double *bnd; /* [S+1][nloc][d] or NULL */
  rtk_diag *diag;
  int64_t p0, nloc;
  int d, S;
  rtk_progress *prog;
  int run;
  const char *label;
  double cost, blocks_done, nblocks;
  int rank;
  int device; /* a device backend accumulates the boundary histograms itself; X may be NULL */
  /* where the current block's boundary rows go: bcur[(k * bstride + gid - bbase) * d] (bnd, nloc, p0 for this
   * rank's own blocks; a staging slot for another rank's block under run.schedule = dynamic) */
  double *bcur;
  int64_t bstride, bbase;
  rtk_sched *sched; /* on: run.schedule = dynamic */
  int64_t computed; /* particles this rank computed */
  double bsize;     /* run.block (progress counts blocks) */
  int64_t rows_in_block; /* rows of the current block that finished all segments (a sampler may run a block in
                            chunks of rows, each through every segment: sampler_rtk.c chunk_rows) */
} bnd_user;

static void at_boundary(void *u, int k, int64_t gid0, int n, const double *X) {
  bnd_user *b = u;
  rtk_timers_enter(RTK_PHASE_DIAG);
  if (k == 1) rtk_test_pause("segment"); /* mid-block (RTK_TEST_PAUSE=segment): the signal and lock tests */
  if (b->bcur && X)
    memcpy(b->bcur + ((size_t)k * b->bstride + (size_t)(gid0 - b->bbase)) * b->d, X, sizeof(double) * n * b->d);
  if (!b->device) rtk_diag_boundary(b->diag, k, n, X);
  if (b->rank == 0 && b->prog) {
    char label[700];
    snprintf(label, sizeof label, "%s seg %d/%d", b->label, k, b->S);
    const double in_block = ((double)b->rows_in_block + n * (b->S ? (double)k / b->S : 1)) / b->bsize;
    rtk_progress_update(b->prog, b->run, label, b->cost, (b->blocks_done + in_block) / (b->nblocks > 0 ? b->nblocks : 1));
  }
  if (k == b->S) b->rows_in_block += n;
  rtk_timers_enter(RTK_PHASE_SAMPLER);
}

static void at_inner(void *u, int k, int m, int64_t gid0, int n, const double *Z) {
  rtk_timers_enter(RTK_PHASE_DIAG);
  rtk_diag_inner(((bnd_user *)u)->diag, k, m, gid0, n, Z);
  rtk_timers_enter(RTK_PHASE_SAMPLER);
}

static double run_cost(const rtk_runspec *r, const rtk_plan *p, const rtk_mixture *m) {
  return (double)r->so.particles * ((double)p->nfe + 1) * m->K * m->d * 8.0;
}

static int write_target(hid_t loc, const rtk_mixture *m, const char *kind, const rtk_target_cfg *tc, int writer) {
  hid_t g;
  RTK_CHECK(rtk_h5_group(loc, "target", &g));
  hsize_t K = (hsize_t)m->K, Kd[2] = {(hsize_t)m->K, (hsize_t)m->d};
  int rc = rtk_h5_write_f64(g, "weights", 1, &K, m->w, writer);
  if (!rc) rc = rtk_h5_write_f64(g, "means", 2, Kd, m->mu, writer);
  if (!rc) rc = rtk_h5_write_f64(g, "variances", 2, Kd, m->var, writer);
  if (!rc) rc = rtk_h5_attr_str(g, "kind", kind);
  if (!rc) rc = rtk_h5_attr_i64(g, "dim", m->d);
  if (!rc) rc = rtk_h5_attr_i64(g, "components", m->K);
  if (!rc && tc->source) rc = rtk_target_file_write(g, tc->source, writer); /* source file, hash, decode basis */
  H5Gclose(g);
  return rc;
}

typedef struct run_data {
  rtk_mixture *mix;
  rtk_plan plan;
  rtk_stats st;
  rtk_hist hist;
  double *X, *bnd, *probs, *tv;
  int64_t *modes;
  int *kbuf; /* [nloc] most responsible component of each local particle */
  rtk_diag diag;
  rtk_score score; /* the samplers' score model; metrics use rd->mix */
  int dev_keep;      /* the device backend kept the final particles (rtk_backend_ops.lin_sums; release) */
} run_data;

static void run_data_free(run_data *rd) {
  if (rd->dev_keep) rtk_backend_cuda.release();
  rtk_score_destroy(&rd->score);
  rtk_mixture_free(rd->mix);
  rtk_plan_free(&rd->plan);
  rtk_stats_free(&rd->st);
  rtk_hist_free(&rd->hist);
  free(rd->X);
  free(rd->bnd);
  free(rd->probs);
  free(rd->tv);
  free(rd->modes);
  free(rd->kbuf);
  rtk_diag_free(&rd->diag);
}

/* init: target, plan and this rank's shard of the global block grid */
static int run_init(const rtk_runspec *r, int rank, int size, run_data *rd, int64_t *b0, int64_t *b1,
                    int64_t *p0, int64_t *nloc) {
  RTK_CHECK(r->target->build(&r->tc, &rd->mix));
  RTK_CHECK(r->sampler->plan(&r->sc, rd->mix, &rd->plan));
  RTK_CHECK(rtk_score_create(r->score, &r->scc, rd->mix, r->net, &rd->score));
  RTK_CHECK(rtk_stats_alloc(rd->plan.nseg, &rd->st));
  const int64_t N = r->so.particles, B = r->so.block, nb = (N + B - 1) / B;
  *b0 = nb * rank / size;
  *b1 = nb * (rank + 1) / size;
  *p0 = *b0 * B;
  int64_t p1 = *b1 * B < N ? *b1 * B : N;
  *nloc = p1 > *p0 ? p1 - *p0 : 0;
  const int d = rd->mix->d;
  RTK_MALLOC(rd->X, (size_t)*nloc * d);
  if (r->so.boundaries) RTK_MALLOC(rd->bnd, (size_t)(rd->plan.nseg + 1) * *nloc * d);
  RTK_CHECK(rtk_hist_init(rd->mix, rd->plan.times[rd->plan.nseg], (int)r->so.diag.bins, r->so.diag.range_sd, &rd->hist));
  RTK_MALLOC(rd->modes, rd->mix->K);
  RTK_MALLOC(rd->kbuf, *nloc);
  RTK_MALLOC(rd->probs, (size_t)d * (r->so.diag.bins + 2));
  RTK_MALLOC(rd->tv, d);
  RTK_CHECK(rtk_diag_init(&rd->diag, &r->so.diag, rd->mix, &rd->plan, N, (int)B, (uint64_t)r->so.seed));
  return RTK_OK;
}

/* SIGTERM (walltime), SIGINT, SIGUSR1 (e.g. sbatch --signal): the handler is
 * installed right after MPI_Init (rtk_signals_install); the samplers poll the
 * flag every step and inner step, the driver between runs.  The run in
 * progress is abandoned (never marked complete), the file is closed cleanly,
 * and `run --resume` redoes only what is missing. */
static volatile sig_atomic_t stop_requested = 0;
static void on_signal(int sig) { stop_requested = sig; }

void rtk_signals_install(void) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal;
  sa.sa_flags = SA_RESTART; /* system calls inside MPI and HDF5 are not cut short */
  sigemptyset(&sa.sa_mask);
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGINT, &sa, NULL);
  sigaction(SIGUSR1, &sa, NULL);
  rtk_cancel_flag = &stop_requested;
}

int rtk_stop_requested(void) { return stop_requested != 0; }

int rtk_collective_stop(MPI_Comm comm) {
  int stop = stop_requested != 0, any = 0;
  MPI_Allreduce(&stop, &any, 1, MPI_INT, MPI_MAX, comm);
  return any ? RTK_ERR(RTK_ERR_INTERRUPTED, "interrupted by a signal") : RTK_OK;
}

static int block_done(void *u, int64_t gid0, int n) {
  bnd_user *b = u;
  (void)gid0;
  b->computed += n;
  rtk_test_slow(); /* RTK_TEST_SLOW=RANK:MICROSECONDS: a slow core */
  /* progress in blocks: the node's particles done (dynamic) or this rank's, over the block size */
  b->blocks_done = b->sched && b->sched->on ? (double)rtk_sched_block_done(b->sched) / b->bsize
                                            : b->blocks_done + (double)n / b->bsize;
  b->rows_in_block = 0;
  return stop_requested != 0;
}

/* run.schedule = dynamic: the next piece of the node (src/app/schedule.c) */
static int next_dynamic(void *u, int64_t *gid0, int *n, double **Xb) {
  bnd_user *bu = u;
  return rtk_sched_next(bu->sched, gid0, n, Xb, &bu->bcur, &bu->bstride, &bu->bbase);
}

/* output.samples: the first M particles by global id are stored (metrics use all N); of this rank's range
 * p0..p0+nloc-1 that is its first *mloc rows */
static int64_t samples_stored(const rtk_runspec *r, int64_t p0, int64_t nloc, int64_t *mloc) {
  const int64_t N = r->so.particles, M = r->so.samples < 0 || r->so.samples > N ? N : r->so.samples;
  *mloc = p0 >= M ? 0 : (p0 + nloc < M ? nloc : M - p0);
  return M;
}

/* kernel: every block of this rank through the sampler, then this rank's
 * share of the histograms and mode counts */
static int run_kernel(const rtk_runspec *r, run_data *rd, int64_t b0, int64_t b1, int64_t nloc, bnd_user *bu) {
  const int64_t B = r->so.block;
  const int d = rd->mix->d;
  rtk_block_ctx ctx = {rd->mix, &r->sc, &rd->plan, (uint64_t)r->so.seed, at_boundary, bu, at_inner, &rd->score};
  rtk_timers_enter(RTK_PHASE_SAMPLER);
  int src;
  /* the cuda backend also accumulates the final-sample diagnostics on the device (RTK_CUDA_DIAG=0: on the host,
   * from the copied-back particles, as the cpu backend does) */
  const char *ce = getenv("RTK_CUDA_DIAG");
  const int dev_diag = r->so.backend == RTK_BACKEND_CUDA && !(ce && ce[0] == '0');
  if (r->so.backend == RTK_BACKEND_CUDA) { /* the rank's whole range on its GPU */
    bu->device = 1;
    rtk_dev_diag dd;
    memset(&dd, 0, sizeof dd);
    if (dev_diag) {
      dd.hist = &rd->hist;
      dd.modes = rd->modes;
      rtk_diag_device(&rd->diag, &dd);
    }
    /* final particles back: with the diagnostics on the device, only the rows output.samples stores (the
     * particles stay on the device for the linearised standard error, rtk_backend_ops.lin_sums); else all */
    int64_t mloc;
    samples_stored(r, b0 * B, nloc, &mloc);
    rtk_dev_job job = {.ctx = &ctx,
                       .sampler = r->sampler,
                       .precision = r->so.precision,
                       .p0 = b0 * B,
                       .n = nloc,
                       .X = rd->X,
                       .copy_rows = dev_diag ? mloc : nloc,
                       .keep = dev_diag,
                       .bh = rd->diag.bh,
                       .nbnd = rd->diag.nbnd,
                       .copy_boundaries = rd->bnd != NULL,
                       .diag = dev_diag ? &dd : NULL};
    rtk_rng_set_generator(r->so.rng); /* run.rng, run.normal: the backend passes them to its kernels */
    rtk_rng_set_normal(r->so.normal);
    src = rtk_backend_cuda.run(&job, &rd->st);
    rtk_rng_set_generator(RTK_RNG_PHILOX4X64);
    rtk_rng_set_normal(RTK_RNG_BOX_MULLER);
    rd->dev_keep = dev_diag && !src;
  } else {
    rtk_rng_set_generator(r->so.rng); /* run.rng, run.normal: the sampler streams only (rtk/rng.h) */
    rtk_rng_set_normal(r->so.normal);
    if (bu->sched && bu->sched->on)
      src = rtk_sample_blocks_next(r->sampler, &ctx, B, next_dynamic, bu, &rd->st, block_done, bu);
    else
      src = rtk_sample_blocks(r->sampler, &ctx, r->so.particles, B, b0, b1, rd->X, &rd->st, block_done, bu);
    rtk_rng_set_generator(RTK_RNG_PHILOX4X64);
    rtk_rng_set_normal(RTK_RNG_BOX_MULLER);
    if (getenv("RTK_TEST_SLOW")) /* the test of the dynamic schedule counts each rank's particles and pieces */
      fprintf(stderr, "rtkbench: test hook: run %d rank %d computed %lld particles (%lld of its own %lld) in %lld "
              "pieces\n", r->index, bu->rank, (long long)bu->computed,
              (long long)(bu->sched && bu->sched->on ? bu->sched->own : bu->computed), (long long)nloc,
              (long long)(bu->sched && bu->sched->on ? bu->sched->pieces : b1 - b0));
    if (bu->sched && bu->sched->on) { /* the pieces computed for other ranks go home (a node collective) */
      rtk_timers_enter(RTK_PHASE_WAIT);
      int abandon;
      src = rtk_sched_finish(bu->sched, src, &abandon);
      if (abandon) return src; /* a rank of the node failed: the caller's collective reports it */
    }
  }
  rtk_timers_enter(RTK_PHASE_DIAG);
  RTK_CHECK(src);
  if (dev_diag) { /* left on the host: the Fréchet noise floor's exact sample sets (independent of X) */
    int rc = RTK_OK;
    for (int64_t i = 0; i < nloc && rd->diag.nfd > 1 && !rc; i += B) {
      const int n = (int)(nloc - i < B ? nloc - i : B);
      rc = rtk_diag_final(&rd->diag, (int64_t)b0 * B + i, n, NULL);
    }
    return rc;
  }
  rtk_hist_add(&rd->hist, (int)nloc, rd->X);
  rtk_mixcoef coef;
  rtk_mixwork mw;
  int rc = rtk_mixcoef_init(rd->mix, &coef);
  if (!rc) rc = rtk_mixwork_init(rd->mix->K, d, &mw);
  if (!rc) {
    rtk_mixcoef_set_time(rd->mix, rd->plan.times[rd->plan.nseg], &coef);
    for (int64_t i = 0; i < nloc; i += B) {
      int n = (int)(nloc - i < B ? nloc - i : B);
      rtk_mix_argmax(&coef, n, rd->X + (size_t)i * d, rd->kbuf + i, &mw);
      for (int j = 0; j < n; j++) rd->modes[rd->kbuf[i + j]]++;
      if (!rc) rc = rtk_diag_final(&rd->diag, (int64_t)b0 * B + i, n, rd->X + (size_t)i * d);
    }
    rtk_mixwork_free(&mw);
  }
  rtk_mixcoef_free(&coef);
  return rc;
}

static int write_metrics(hid_t g, const rtk_runspec *r, run_data *rd, const rtk_marginal_result *mr, double mode_tv,
                         double wall, int writer) {
  const int S = rd->plan.nseg, d = rd->mix->d, nb = (int)r->so.diag.bins;
  const int64_t N = r->so.particles;
  hsize_t hS = (hsize_t)S, hd = (hsize_t)d, hh[2] = {hd, (hsize_t)nb + 2}, hK = (hsize_t)rd->mix->K;
  int64_t nfe_tot = 0, acc_tot = 0, prop_tot = 0;
  double *acc = calloc((size_t)S + 1, sizeof(double)), *nfe_seg = calloc((size_t)S + 1, sizeof(double));
  if (rtk_h5_agree(!acc || !nfe_seg ? RTK_ERR(RTK_ERR_MEM, "out of memory") : RTK_OK)) {
    free(acc);
    free(nfe_seg);
    return RTK_ERR_MEM;
  }
  for (int k = 0; k < S; k++) {
    nfe_tot += rd->st.nfe[k];
    acc_tot += rd->st.accept[k];
    prop_tot += rd->st.propose[k];
    acc[k] = rd->st.propose[k] ? (double)rd->st.accept[k] / rd->st.propose[k] : NAN;
    nfe_seg[k] = (double)rd->st.nfe[k] / N;
  }
  const double nfe = (double)nfe_tot / N;
  int rc = RTK_OK;
#define W(call) \
  if (!rc) rc = (call)
  W(rtk_h5_write_f64(g, "marginal_accuracy", 0, NULL, &mr->accuracy, writer));
  W(rtk_h5_write_f64(g, "marginal_tv", 1, &hd, rd->tv, writer));
  W(rtk_h5_write_f64(g, "mean_tv", 0, NULL, &mr->mean_tv, writer));
  W(rtk_h5_write_f64(g, "noise_floor", 0, NULL, &mr->noise_floor, writer));
  W(rtk_h5_write_f64(g, "excess_tv", 0, NULL, &mr->excess, writer));
  W(rtk_h5_write_f64(g, "mode_tv", 0, NULL, &mode_tv, writer));
  W(rtk_h5_write_i64(g, "mode_counts", 1, &hK, rd->modes, writer));
  W(rtk_h5_write_i64(g, "histograms", 2, hh, rd->hist.count, writer));
  W(rtk_h5_write_f64(g, "bin_probs", 2, hh, rd->probs, writer));
  W(rtk_h5_write_f64(g, "bin_lo", 1, &hd, rd->hist.lo, writer));
  W(rtk_h5_write_f64(g, "bin_hi", 1, &hd, rd->hist.hi, writer));
  W(rtk_h5_write_f64(g, "acceptance", 1, &hS, acc, writer));
  W(rtk_h5_write_i64(g, "accepted", 1, &hS, rd->st.accept, writer));
  W(rtk_h5_write_i64(g, "proposed", 1, &hS, rd->st.propose, writer));
  double acc_all = prop_tot ? (double)acc_tot / prop_tot : NAN;
  W(rtk_h5_write_f64(g, "acceptance_overall", 0, NULL, &acc_all, writer));
  W(rtk_h5_write_f64(g, "nfe", 0, NULL, &nfe, writer));
  W(rtk_h5_write_i64(g, "nfe_total", 0, NULL, &nfe_tot, writer));
  W(rtk_h5_write_f64(g, "nfe_per_segment", 1, &hS, nfe_seg, writer));
  W(rtk_h5_write_f64(g, "seconds_per_segment", 1, &hS, rd->st.seconds, writer));
  /* smc: mean group ESS fraction (exact integer sums, so rank-count independent) and resampling counts */
  for (int k = 0; k < S; k++) acc[k] = rd->st.groups[k] ? rd->st.ess_q[k] / RTK_ESS_UNIT / rd->st.groups[k] : NAN;
  W(rtk_h5_write_f64(g, "ess", 1, &hS, acc, writer));
  W(rtk_h5_write_i64(g, "resampled", 1, &hS, rd->st.resampled, writer));
  W(rtk_h5_write_i64(g, "groups", 1, &hS, rd->st.groups, writer));
  /* fors: estimates drawn, overflows (clipped or grown) and their fraction, particles out of rounds */
  for (int k = 0; k < S; k++) acc[k] = rd->st.estimates[k] ? (double)rd->st.clipped[k] / rd->st.estimates[k] : NAN;
  W(rtk_h5_write_f64(g, "fors_clip_fraction", 1, &hS, acc, writer));
  W(rtk_h5_write_i64(g, "fors_estimates", 1, &hS, rd->st.estimates, writer));
  W(rtk_h5_write_i64(g, "fors_clipped", 1, &hS, rd->st.clipped, writer));
  W(rtk_h5_write_i64(g, "fors_exhausted", 1, &hS, rd->st.exhausted, writer));
  W(rtk_h5_write_f64(g, "wall_time", 0, NULL, &wall, writer));
  double nps = wall > 0 ? nfe_tot / wall : 0, pps = wall > 0 ? N / wall : 0;
  W(rtk_h5_write_f64(g, "nfe_per_second", 0, NULL, &nps, writer));
  W(rtk_h5_write_f64(g, "particles_per_second", 0, NULL, &pps, writer));
#undef W
  free(acc);
  free(nfe_seg);
  return rc;
}

/* One run: init / kernel / reduce / write. */
/* Does run r use the study's target, the one in /target (the first run's)?
 * Then /runs/<id>/target is a hard link to /target instead of a copy: a
 * mixture read from a file can hold millions of values. */
static int same_target(const rtk_runspec *r, const rtk_runspec *r0) {
  if (r->target != r0->target) return 0;
  char a[RTK_STRLEN + 64], b[RTK_STRLEN + 64];
  for (const rtk_opt *o = r->target->options; o->key; o++) {
    rtk_opt_format(o, &r->tc, a, sizeof a);
    rtk_opt_format(o, &r0->tc, b, sizeof b);
    if (strcmp(a, b)) return 0;
  }
  return 1;
}

static int run_one(MPI_Comm comm, const rtk_runspec *r, const rtk_runspec *r0, hid_t file, rtk_progress *prog,
                   run_result *res) {
  int rank, size;
  MPI_Comm_rank(comm, &rank);
  MPI_Comm_size(comm, &size);
  run_data rd;
  memset(&rd, 0, sizeof rd);
  int64_t b0 = 0, b1 = 0, p0 = 0, nloc = 0;
  int rc = rtk_collective(comm, run_init(r, rank, size, &rd, &b0, &b1, &p0, &nloc));
  if (rc) {
    run_data_free(&rd);
    return rc;
  }
  const int S = rd.plan.nseg, d = rd.mix->d, K = rd.mix->K, nb = (int)r->so.diag.bins;
  const int64_t N = r->so.particles;
  char label[640];
  snprintf(label, sizeof label, "%s %s", r->sampler->name, r->sweep);
  rtk_sched sched; /* run.schedule = dynamic on the cpu backend: the node's ranks share out their blocks */
  rtk_sched_init(&sched, comm, r->so.schedule == RTK_SCHEDULE_DYNAMIC && r->so.backend == RTK_BACKEND_CPU, N,
                 r->so.block, r->sampler == &rtk_sampler_smc ? r->sc.group : 1, b0, b1, d, rd.bnd ? S + 1 : 0, rd.X,
                 rd.bnd); /* smc's pieces: whole resampling groups */
  bnd_user bu = {rd.bnd, &rd.diag, p0, nloc, d, S, prog, r->index, label, run_cost(r, &rd.plan, rd.mix), 0,
                 (double)(sched.on ? sched.total : b1 - b0), rank, 0, rd.bnd, nloc, p0, &sched, 0, (double)r->so.block, 0};

  MPI_Barrier(comm);
  rtk_timers_start();
  double t0 = MPI_Wtime();
  const int krc = run_kernel(r, &rd, b0, b1, nloc, &bu);
  rtk_timers_enter(RTK_PHASE_WAIT); /* the ranks meet here: waiting for the slowest is load imbalance */
  rc = rtk_collective(comm, krc);
  double wall_local = MPI_Wtime() - t0, wall;
  int used[2] = {sched.on, -sched.on}; /* the schedule used: on every node, on none, or on some */
  MPI_Allreduce(MPI_IN_PLACE, used, 2, MPI_INT, MPI_MIN, comm);
  const char *schedule_used = used[0] ? "dynamic" : used[1] ? "mixed" : "static";
  rtk_sched_free(&sched);
  rtk_timers_enter(RTK_PHASE_DIAG);
  if (rc) {
    run_data_free(&rd);
    return rc;
  }
  /* non-exact score: its measured error at every grid time (collective) */
  double *serr = NULL, *sse = NULL;
  if (r->score != &rtk_score_exact) {
    serr = calloc((size_t)S + 1, sizeof(double));
    sse = calloc((size_t)S + 1, sizeof(double));
    rc = serr && sse ? RTK_OK : RTK_ERR(RTK_ERR_MEM, "out of memory");
    rc = rtk_collective(comm, rc);
    if (!rc)
      rc = rtk_score_error_measure(comm, &rd.score, rd.mix, &rd.plan, r->scc.error_samples, 256,
                                   (uint64_t)r->so.seed, serr, sse);
    if (rc) {
      free(serr);
      free(sse);
      run_data_free(&rd);
      return rc;
    }
  }
  /* report: reductions in a fixed order (integers are exact; times take the max) */
  MPI_Allreduce(&wall_local, &wall, 1, MPI_DOUBLE, MPI_MAX, comm);
  const int nh = d * (nb + 2);
  MPI_Allreduce(MPI_IN_PLACE, rd.hist.count, nh, MPI_INT64_T, MPI_SUM, comm);
  MPI_Allreduce(MPI_IN_PLACE, rd.modes, K, MPI_INT64_T, MPI_SUM, comm);
  rtk_diag_reduce(comm, &rd.diag);
  if (S > 0) {
    MPI_Allreduce(MPI_IN_PLACE, rd.st.nfe, S, MPI_INT64_T, MPI_SUM, comm);
    MPI_Allreduce(MPI_IN_PLACE, rd.st.accept, S, MPI_INT64_T, MPI_SUM, comm);
    MPI_Allreduce(MPI_IN_PLACE, rd.st.propose, S, MPI_INT64_T, MPI_SUM, comm);
    MPI_Allreduce(MPI_IN_PLACE, rd.st.seconds, S, MPI_DOUBLE, MPI_MAX, comm);
    MPI_Allreduce(MPI_IN_PLACE, rd.st.groups, S, MPI_INT64_T, MPI_SUM, comm);
    MPI_Allreduce(MPI_IN_PLACE, rd.st.resampled, S, MPI_INT64_T, MPI_SUM, comm);
    MPI_Allreduce(MPI_IN_PLACE, rd.st.ess_q, S, MPI_INT64_T, MPI_SUM, comm);
    MPI_Allreduce(MPI_IN_PLACE, rd.st.estimates, S, MPI_INT64_T, MPI_SUM, comm);
    MPI_Allreduce(MPI_IN_PLACE, rd.st.clipped, S, MPI_INT64_T, MPI_SUM, comm);
    MPI_Allreduce(MPI_IN_PLACE, rd.st.exhausted, S, MPI_INT64_T, MPI_SUM, comm);
  }
  const double t_end = rd.plan.times[S];
  rtk_diag_exact_probs(comm, &rd.hist, rd.mix, t_end, rd.probs);
  rtk_marginal_result mr;
  rtk_marginal_metrics(&rd.hist, rd.probs, N, rd.tv, &mr);
  const double mode_tv = rtk_mode_tv(rd.mix, rd.modes, N);
  /* linearised standard errors from exact integer sums (see metrics.h) */
  int64_t lin[4] = {0, 0, 0, 0};
  signed char *sign = malloc((size_t)nh);
  if (!sign) rc = RTK_ERR(RTK_ERR_MEM, "out of memory");
  if (sign) {
    rtk_tv_signs(&rd.hist, rd.probs, N, sign);
    if (rd.dev_keep) { /* on the particles the device kept; the same integers */
      rc = rtk_backend_cuda.lin_sums(&rd.hist, sign, &lin[0], &lin[1]);
      rtk_backend_cuda.release();
      rd.dev_keep = 0;
    } else {
      rtk_tv_lin_sums(&rd.hist, sign, (int)nloc, rd.X, &lin[0], &lin[1]);
    }
    for (int k = 0; k < K; k++) { /* the mode term's u is sign_k for every particle of mode k: its sums follow
                                     from the (global) counts, on rank 0 only */
      double diff = (double)rd.modes[k] / N - rd.mix->w[k];
      const int64_t u = diff > 0 ? 1 : diff < 0 ? -1 : 0;
      if (rank == 0) {
        lin[2] += u * rd.modes[k];
        lin[3] += u * u * rd.modes[k];
      }
    }
    free(sign);
  }
  MPI_Allreduce(MPI_IN_PLACE, lin, 4, MPI_INT64_T, MPI_SUM, comm);
  const double acc_se = rtk_tv_lin_se(lin[0], lin[1], N, d), mode_se = rtk_tv_lin_se(lin[2], lin[3], N, 1);
  int64_t nfe_tot = 0, acc = 0, prop = 0;
  for (int k = 0; k < S; k++) {
    nfe_tot += rd.st.nfe[k];
    acc += rd.st.accept[k];
    prop += rd.st.propose[k];
  }
  *res = (run_result){(double)nfe_tot / N, mr.accuracy, mr.noise_floor, mr.excess, mode_tv,
                      prop ? (double)acc / prop : NAN, wall, wall > 0 ? nfe_tot / wall : 0, acc_se, mode_se, {{0}}};
  if (!rd.plan.nfe_random && rd.plan.nfe * N != nfe_tot)
    rc = RTK_ERR(RTK_ERR_RUNTIME, "run %s: NFE accounting mismatch (planned %lld per particle, counted %lld in total)",
                 r->id, (long long)rd.plan.nfe, (long long)nfe_tot);

  /* HDF5: status "running" first, "complete" last */
  rtk_timers_enter(RTK_PHASE_IO);
  hid_t g = -1;
  char path[160];
  snprintf(path, sizeof path, "runs/%s", r->id);
  const int w = rank == 0;
#define W(call) \
  if (!rc) rc = (call)
  rc = rtk_collective(comm, rc);
  rtk_h5_sum sum;
  char fpath[170];
  snprintf(fpath, sizeof fpath, "/%s", path);
  W(rtk_h5_group_anon(file, fpath, &g)); /* invisible until complete (crash consistency, docs/format.md) */
  W(rtk_h5_attr_str_fixed(g, "status", "running", 16));
  W(rtk_h5_attr_str(g, "sampler", r->sampler->name));
  W(rtk_h5_attr_f64(g, "nfe", res->nfe));
  W(rtk_h5_attr_i64(g, "nfe_budget", r->sc.nfe));
  W(rtk_h5_attr_i64(g, "particles", N));
  W(rtk_h5_attr_i64(g, "seed", r->so.seed));
  W(rtk_h5_attr_i64(g, "dim", d));
  W(rtk_h5_attr_i64(g, "segments", S));
  W(rtk_h5_attr_str(g, "target", r->target->name));
  W(rtk_h5_attr_str(g, "score", r->score->name));
  char blas[1024];
  rtk_blas_line(&study_blas, blas, sizeof blas);
  W(rtk_h5_attr_str(g, "blas", blas));
  W(rtk_h5_attr_str(g, "backend", r->so.backend == RTK_BACKEND_CUDA ? "cuda" : "cpu"));
  W(rtk_h5_attr_str(g, "precision", r->so.precision == RTK_PREC_FP32 ? "fp32" : "fp64"));
  W(rtk_h5_attr_str(g, "rng", rtk_rng_generator_name(r->so.rng)));
  W(rtk_h5_attr_str(g, "normal", rtk_rng_normal_name(r->so.normal)));
  W(rtk_h5_attr_str(g, "schedule", schedule_used));
  W(rtk_h5_attr_str(g, "sweep", r->sweep));
  W(rtk_h5_attr_i64(g, "index", r->index));
  rtk_h5_sum_begin(&sum); /* every dataset of the run from here on */
  W(rtk_h5_write_text(g, "config", r->resolved, w));
  hsize_t hS1 = (hsize_t)S + 1;
  W(rtk_h5_write_f64(g, "times", 1, &hS1, rd.plan.times, w));
  if (same_target(r, r0)) {
    W(rtk_h5_agree(H5Lcreate_hard(file, "target", g, "target", H5P_DEFAULT, H5P_DEFAULT) < 0
                       ? RTK_ERR(RTK_ERR_IO, "HDF5: cannot link %s/target to /target", path)
                       : RTK_OK));
  } else {
    W(write_target(g, rd.mix, r->target->name, &r->tc, w));
  }
  double dummy = 0;
  int64_t mloc;
  const int64_t M = samples_stored(r, p0, nloc, &mloc);
  W(rtk_h5_attr_i64(g, "samples_stored", M));
  W(rtk_h5_write_rows(g, "samples", 0, (hsize_t)M, (hsize_t)d, (hsize_t)p0, (hsize_t)mloc, mloc ? rd.X : &dummy));
  if (r->so.boundaries)
    W(rtk_h5_write_rows(g, "boundaries", (hsize_t)S + 1, (hsize_t)N, (hsize_t)d, (hsize_t)p0, (hsize_t)nloc,
                        nloc ? rd.bnd : &dummy));
  hid_t mg = -1;
  W(rtk_h5_group(g, "metrics", &mg));
  W(write_metrics(mg, r, &rd, &mr, mode_tv, wall, w));
  double ci[2] = {mr.accuracy - 1.96 * acc_se, mr.accuracy + 1.96 * acc_se}, mci[2] = {mode_tv - 1.96 * mode_se, mode_tv + 1.96 * mode_se};
  hsize_t two = 2;
  W(rtk_h5_write_f64(mg, "marginal_accuracy_se", 0, NULL, &acc_se, w));
  W(rtk_h5_write_f64(mg, "marginal_accuracy_ci95", 1, &two, ci, w));
  W(rtk_h5_write_f64(mg, "mode_tv_se", 0, NULL, &mode_se, w));
  W(rtk_h5_write_f64(mg, "mode_tv_ci95", 1, &two, mci, w));
  W(rtk_diag_write(comm, mg, g, &rd.diag, rd.mix, &rd.plan, w));
  if (serr) {
    W(rtk_h5_write_f64(mg, "score_error", 1, &hS1, serr, w));
    W(rtk_h5_write_f64(mg, "score_error_se", 1, &hS1, sse, w));
    W(rtk_h5_attr_i64(mg, "score_error_samples", r->scc.error_samples));
  }
  /* the time split, last of the run's datasets: io is the time up to here */
  double tp[2][RTK_NPHASES], mine[RTK_NPHASES];
  rtk_timers_read(mine);
  MPI_Allreduce(mine, tp[0], RTK_NPHASES, MPI_DOUBLE, MPI_MAX, comm);
  MPI_Allreduce(mine, tp[1], RTK_NPHASES, MPI_DOUBLE, MPI_SUM, comm);
  for (int p = 0; p < RTK_NPHASES; p++) {
    tp[1][p] /= size;
    res->phase[0][p] = tp[0][p];
    res->phase[1][p] = tp[1][p];
  }
  hsize_t htp[2] = {2, RTK_NPHASES};
  W(rtk_h5_write_f64(mg, "time_phases", 2, htp, &tp[0][0], w));
  rtk_h5_sum_end();
  if (mg >= 0) H5Gclose(mg);
  /* the checksum: every rank's rows, summed modulo 2^64 (rank-count independent) */
  if (!rc) {
    uint64_t both[2] = {sum.a, sum.b};
    MPI_Allreduce(MPI_IN_PLACE, both, 2, MPI_UINT64_T, MPI_SUM, comm);
    sum.a = both[0];
    sum.b = both[1];
  }
  char hex[40];
  rtk_h5_sum_hex(&sum, hex);
  W(rtk_h5_attr_str(g, "checksum", hex));
  W(rtk_h5_attr_str_fixed(g, "status", "complete", 16));
  W(rtk_h5_flush(file)); /* the whole run on disk, not yet reachable */
  W(rtk_h5_link(file, path, g));
  /* durable at once: a hard kill after this point keeps the run */
  W(rtk_h5_flush(file));
#undef W
  if (g >= 0) H5Gclose(g);
  free(serr);
  free(sse);
  run_data_free(&rd);
  return rtk_collective(comm, rc);
}

static void utc_now(char *buf, size_t len) {
  time_t t = time(NULL);
  struct tm tm;
  gmtime_r(&t, &tm);
  strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* the study's digest: every run's id and resolved configuration, in order */
void rtk_study_digest(const rtk_study *st, char hex[40]) {
  size_t n = 0;
  for (int i = 0; i < st->nruns; i++) n += strlen(st->runs[i].id) + strlen(st->runs[i].resolved) + 2;
  char *buf = malloc(n + 1), *p = buf;
  rtk_h5_sum s = {0, 0};
  if (buf) {
    for (int i = 0; i < st->nruns; i++)
      p += sprintf(p, "%s\n%s%c", st->runs[i].id, st->runs[i].resolved, 0);
    rtk_h5_hash_text(buf, n, &s);
    free(buf);
  }
  rtk_h5_sum_hex(&s, hex);
}

/* a run already in the file: its configuration must be this run's; if it is
 * complete and verified, its results are read back (nothing is modified here) */
static int previous_run(hid_t file, const char *out, const rtk_runspec *r, run_result *res, int *complete) {
  char path[160], why[600];
  snprintf(path, sizeof path, "runs/%s", r->id);
  *complete = 0;
  int state;
  RTK_CHECK(rtk_results_run_state(file, r->id, &state, why, sizeof why));
  if (state == RTK_RUN_ABSENT) return RTK_OK;
  hid_t g = H5Gopen2(file, path, H5P_DEFAULT);
  char *prev = g >= 0 ? rtk_h5_read_text(g, "config") : NULL;
  const int same = prev && !strcmp(prev, r->resolved);
  free(prev);
  if (!same) {
    if (g >= 0) H5Gclose(g);
    return RTK_ERR(RTK_ERR_INPUT,
                   "cannot resume '%s': run %s in the file was produced by a different configuration (the file's "
                   "/runs/%s/config holds the one it used; use --force to start over)", out, r->id, r->id);
  }
  if (state == RTK_RUN_BAD)
    fprintf(stderr, "rtkbench: warning: run %s is marked complete but fails verification (%s); it will be redone\n",
            r->id, why);
  if (state == RTK_RUN_COMPLETE) {
    hid_t m = H5Gopen2(g, "metrics", H5P_DEFAULT);
    *res = (run_result){rtk_h5_read_num_attr(g, "nfe"), rtk_h5_read_scalar(m, "marginal_accuracy"),
                        rtk_h5_read_scalar(m, "noise_floor"), rtk_h5_read_scalar(m, "excess_tv"),
                        rtk_h5_read_scalar(m, "mode_tv"), rtk_h5_read_scalar(m, "acceptance_overall"),
                        rtk_h5_read_scalar(m, "wall_time"), rtk_h5_read_scalar(m, "nfe_per_second"),
                        rtk_h5_read_scalar(m, "marginal_accuracy_se"), rtk_h5_read_scalar(m, "mode_tv_se"), {{0}}};
    for (int p = 0; p < RTK_NPHASES; p++) res->phase[0][p] = res->phase[1][p] = NAN; /* the summary shows "-" */
    if (m >= 0) H5Gclose(m);
    *complete = 1;
  }
  H5Gclose(g);
  return RTK_OK;
}

typedef struct {
  const rtk_study *st;
  char bad[160];
} id_check;

static herr_t check_id(hid_t runs, const char *name, const H5L_info_t *info, void *user) {
  (void)runs;
  (void)info;
  id_check *c = user;
  for (int i = 0; i < c->st->nruns; i++)
    if (!strcmp(c->st->runs[i].id, name)) return 0;
  snprintf(c->bad, sizeof c->bad, "%s", name);
  return 1;
}

/* --resume, rank 0, the file opened read-only: the whole expanded study must
 * be the file's (run count, every run's id and resolved configuration, the
 * study digest); complete runs are verified against their checksums.  Nothing
 * is written, so a refusal leaves the file byte-identical. */
static int resume_check(const char *out, const rtk_study *st, run_result *res, int *complete) {
  hid_t f = H5Fopen(out, H5F_ACC_RDONLY, H5P_DEFAULT);
  if (f < 0)
    return RTK_ERR(RTK_ERR_INPUT, "cannot resume '%s': not an HDF5 file, or damaged (use --force to start over)", out);
  int64_t nruns = 0;
  int rc = rtk_results_header(f, out, &nruns);
  if (rc) {
    char msg[1024];
    snprintf(msg, sizeof msg, "%s", rtk_error_message());
    rc = RTK_ERR(RTK_ERR_INPUT, "cannot resume: %s", msg);
  } else if (nruns != st->nruns) {
    rc = RTK_ERR(RTK_ERR_INPUT,
                 "cannot resume '%s': it holds a study of %lld runs, this configuration expands to %d "
                 "(use --force to start over)", out, (long long)nruns, st->nruns);
  }
  for (int i = 0; i < st->nruns && !rc; i++) rc = previous_run(f, out, &st->runs[i], &res[i], &complete[i]);
  if (!rc && H5Lexists(f, "runs", H5P_DEFAULT) > 0) {
    id_check c = {st, ""};
    hid_t runs = H5Gopen2(f, "runs", H5P_DEFAULT);
    if (runs < 0 || H5Literate(runs, H5_INDEX_NAME, H5_ITER_INC, NULL, check_id, &c) < 0 || c.bad[0])
      rc = RTK_ERR(RTK_ERR_INPUT,
                   "cannot resume '%s': its run '%s' is not a run of this study (the order or the list of samplers "
                   "or sweep values differs; use --force to start over)", out, c.bad[0] ? c.bad : "?");
    if (runs >= 0) H5Gclose(runs);
  }
  if (!rc && H5Aexists(f, "study_digest") > 0) {
    char have[64], want[40];
    rtk_h5_read_str_attr(f, "study_digest", have, sizeof have);
    rtk_study_digest(st, want);
    if (strcmp(have, want))
      rc = RTK_ERR(RTK_ERR_INPUT,
                   "cannot resume '%s': the file holds a different study (its runs, their order or their "
                   "configurations differ; use --force to start over)", out);
  }
  H5Fclose(f);
  return rc;
}

/* an incomplete run's group (if any) is removed before the run is redone */
static int remove_incomplete(hid_t file, const rtk_runspec *r) {
  char path[160];
  snprintf(path, sizeof path, "runs/%s", r->id);
  int rc = RTK_OK;
  if (H5Lexists(file, "runs", H5P_DEFAULT) > 0 && H5Lexists(file, path, H5P_DEFAULT) > 0 &&
      H5Ldelete(file, path, H5P_DEFAULT) < 0)
    rc = RTK_ERR(RTK_ERR_IO, "HDF5: cannot remove the incomplete run %s", path);
  return rtk_h5_agree(rc);
}

static int write_header(MPI_Comm comm, hid_t file, const rtk_study *st, const rtk_cli_run *cli) {
  int rank, size;
  MPI_Comm_rank(comm, &rank);
  MPI_Comm_size(comm, &size);
  char created[64], cmd[4096] = "", digest[40];
  utc_now(created, sizeof created);
  MPI_Bcast(created, sizeof created, MPI_CHAR, 0, comm); /* same attribute value on every rank */
  for (int i = 0; i < cli->argc; i++)
    snprintf(cmd + strlen(cmd), sizeof cmd - strlen(cmd), "%s%s", i ? " " : "", cli->argv[i]);
  rtk_study_digest(st, digest);
  int rc = RTK_OK;
#define W(call) \
  if (!rc) rc = (call)
  W(rtk_h5_attr_str(file, "format", "rtkbench"));
  W(rtk_h5_attr_i64(file, "format_version", RTK_FORMAT_VERSION));
  W(rtk_h5_attr_str(file, "software_version", RTK_VERSION));
  W(rtk_h5_attr_str(file, "created", created));
  W(rtk_h5_attr_i64(file, "mpi_ranks", size));
  W(rtk_h5_attr_str(file, "command_line", cmd));
  W(rtk_h5_attr_i64(file, "runs", st->nruns));
  W(rtk_h5_attr_str(file, "study_digest", digest));
  const rtk_blas_info *b = &study_blas; /* BLAS provenance (docs/format.md) */
  W(rtk_h5_attr_str(file, "blas_library", b->library));
  W(rtk_h5_attr_str(file, "blas_version", b->version));
  W(rtk_h5_attr_str(file, "blas_core", b->core));
  W(rtk_h5_attr_i64(file, "blas_threads", b->threads));
  W(rtk_h5_attr_str(file, "blas_path", b->path));
  W(rtk_h5_attr_str(file, "blas_autofix", b->autofix));
  W(rtk_h5_attr_str(file, "cpu_isa", b->cpu));
  W(rtk_h5_write_text(file, "config", st->resolved, rank == 0));
  hid_t runs = -1;
  W(rtk_h5_group(file, "runs", &runs));
  if (runs >= 0) H5Gclose(runs);
  if (!rc) { /* the study's (first run's) target */
    rtk_mixture *m = NULL;
    rc = rtk_collective(comm, st->runs[0].target->build(&st->runs[0].tc, &m));
    if (!rc) rc = write_target(file, m, st->runs[0].target->name, &st->runs[0].tc, rank == 0);
    rtk_mixture_free(m);
  }
  /* a valid HDF5 file on disk before the first run starts: a hard kill
   * during that run leaves a file --resume can continue */
  W(rtk_h5_flush(file));
#undef W
  return rc;
}

/* sh-quoted copy of s appended to buf */
static void append_quoted(char *buf, size_t len, const char *s) {
  size_t n = strlen(buf);
  int plain = s[0] != '\0';
  for (const char *p = s; *p; p++)
    if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-./=:,+@%", *p)) plain = 0;
  if (plain) {
    snprintf(buf + n, len - n, "%s", s);
    return;
  }
  if (n + 1 < len) buf[n++] = '\'';
  for (const char *p = s; *p && n + 5 < len; p++) {
    if (*p == '\'') {
      memcpy(buf + n, "'\\''", 4);
      n += 4;
    } else {
      buf[n++] = *p;
    }
  }
  if (n + 1 < len) buf[n++] = '\'';
  buf[n < len ? n : len - 1] = '\0';
}

static void print_summary(const rtk_study *st, const run_result *res, int done, int size) {
  printf("\n%-5s %-15s %-28s %8s %9s %7s %8s %8s %8s %7s %9s %11s\n", "run", "sampler", "sweep", "NFE", "accuracy",
         "±95%", "floor", "excess", "mode-TV", "accept", "wall[s]", "NFE/s");
  for (int i = 0; i < done; i++) {
    const rtk_runspec *r = &st->runs[i];
    char accs[16];
    if (res[i].accept == res[i].accept) snprintf(accs, sizeof accs, "%.3f", res[i].accept);
    else snprintf(accs, sizeof accs, "-");
    printf("%-5d %-15s %-28.28s %8.1f %9.4f %7.4f %8.4f %+8.4f %8.4f %7s %9.2f %11.3e\n", i, r->sampler->name,
           r->sweep[0] ? r->sweep : "-", res[i].nfe, res[i].accuracy, 1.96 * res[i].acc_se, 1 - res[i].floor,
           res[i].excess, res[i].mode_tv, accs, res[i].wall, res[i].nfe_per_s);
  }
  printf("accuracy = 1 - mean_i TV_i of the coordinate histograms vs exact bin probabilities, ±95%% interval\n"
         "(linearised, conservative near the floor); floor = 1 - E[mean TV] of exact samples of the same size;\n"
         "excess = mean TV - E[mean TV].\n");
  static const char *const names[] = RTK_PHASE_NAMES;
  printf("\ntime split [s, mean over ranks%s; metrics/time_phases]\n%-5s %-15s", size > 1 ? ", then the max of each phase" : "",
         "run", "sampler");
  for (int p = 0; p < RTK_NPHASES; p++) printf(" %11s", names[p]);
  printf(" %10s\n", "not score");
  for (int i = 0; i < done; i++) {
    for (int row = 1; row >= (size > 1 ? 0 : 1); row--) {
      const double *ph = res[i].phase[row];
      if (row == 1) printf("%-5d %-15s", i, st->runs[i].sampler->name);
      else printf("%-5s %-15s", "", "max over ranks");
      double sum = 0;
      for (int p = 0; p < RTK_NPHASES; p++) {
        if (ph[p] == ph[p]) {
          printf(" %11.3f", ph[p]);
          sum += ph[p];
        } else {
          printf(" %11s", "-");
        }
      }
      /* the share of the ranks' time outside the score (score model) evaluations: of the mean row, i.e. of the
       * run's core-seconds; the max row's phases come from different ranks, so no share of it */
      if (row == 1 && ph[0] == ph[0] && sum > 0) printf(" %9.1f%%", 100 * (1 - ph[0] / sum));
      else printf(" %10s", "-");
      printf("\n");
    }
  }
  fflush(stdout);
}

/* run.backend = cuda in any run: one GPU per rank, chosen by the rank's index among the ranks of its node */
static int attach_devices(MPI_Comm comm, const rtk_study *st) {
  int any = 0;
  for (int i = 0; i < st->nruns; i++) any |= st->runs[i].so.backend == RTK_BACKEND_CUDA;
  if (!any) return RTK_OK;
  MPI_Comm node;
  int lrank, lsize;
  MPI_Comm_split_type(comm, MPI_COMM_TYPE_SHARED, 0, MPI_INFO_NULL, &node);
  MPI_Comm_rank(node, &lrank);
  MPI_Comm_size(node, &lsize);
  MPI_Comm_free(&node);
  RTK_CHECK(rtk_backend_cuda.attach(lrank, lsize));
  const char *dev = rtk_backend_cuda.describe();
  int rank;
  MPI_Comm_rank(comm, &rank);
  if (rank == 0 && dev[0]) fprintf(stderr, "rtkbench: cuda backend, rank 0 on %s\n", dev);
  return RTK_OK;
}

int rtk_study_execute(MPI_Comm comm, const rtk_config *cfg, const rtk_study *st, const rtk_cli_run *cli) {
  int rank, size;
  MPI_Comm_rank(comm, &rank);
  MPI_Comm_size(comm, &size);
#ifdef RTK_HAVE_OPENBLAS_THREADS
  if (!getenv("OPENBLAS_NUM_THREADS")) openblas_set_num_threads(1); /* one rank per core */
#endif
  blas_agreed(comm, &study_blas);
  char out[1024];
  if (cli->output)
    snprintf(out, sizeof out, "%s", cli->output);
  else if (st->runs[0].so.file[0])
    snprintf(out, sizeof out, "%s", st->runs[0].so.file);
  else
    snprintf(out, sizeof out, "results/%s.h5", cfg->stem);
  RTK_CHECK(rtk_out_check_path(out)); /* same verdict on every rank */
  RTK_CHECK(rtk_collective(comm, rtk_study_check_memory(comm, st)));
  RTK_CHECK(rtk_collective(comm, attach_devices(comm, st)));
  RTK_CHECK(rtk_collective_stop(comm));

  /* rank 0: the lock, then the output file (created here, or kept for --resume) */
  rtk_outfile of;
  memset(&of, 0, sizeof of);
  of.lockfd = -1;
  int rc = rank == 0 ? rtk_out_acquire(&of, out, cli->force, cli->resume) : RTK_OK;
  RTK_CHECK(rtk_collective(comm, rc));
  int exists = of.exists;
  MPI_Bcast(&exists, 1, MPI_INT, 0, comm);
  const int resuming = cli->resume && exists;
  char tmpname[1040];
  snprintf(tmpname, sizeof tmpname, "%s.tmp", out); /* a new file is written here until its header is on disk */

  double total = 0, *costs = calloc((size_t)st->nruns, sizeof(double));
  run_result *res = calloc((size_t)st->nruns, sizeof(run_result));
  int *complete = calloc((size_t)st->nruns, sizeof(int));
  rc = rtk_collective(comm, !costs || !res || !complete ? RTK_ERR(RTK_ERR_MEM, "out of memory") : RTK_OK);
  /* resume: the whole study is compared and every complete run verified, on
   * rank 0 with the file opened read-only, before anything is written */
  if (!rc && resuming) {
    rc = rtk_collective(comm, rank == 0 ? resume_check(out, st, res, complete) : RTK_OK);
    if (!rc) {
      MPI_Bcast(complete, st->nruns, MPI_INT, 0, comm);
      MPI_Bcast(res, (int)(sizeof(run_result) * (size_t)st->nruns), MPI_BYTE, 0, comm);
    }
  }
  if (!rc) rc = rtk_collective_stop(comm);
  hid_t file = -1;
  if (!rc) {
    if (resuming) {
      rc = rtk_h5_open_rw(comm, out, &file);
    } else {
      rc = rtk_h5_create(comm, tmpname, &file);
      if (!rc) rc = rtk_collective(comm, write_header(comm, file, st, cli));
      if (!rc) rc = rtk_collective(comm, rank == 0 ? rtk_out_publish(&of) : RTK_OK);
    }
    if (!rc) rc = rtk_journal_start(comm, file, out); /* crash consistency inside flushes (journal.h) */
  }
  for (int i = 0; i < st->nruns && !rc; i++) { /* cost estimates for the ETA */
    rtk_mixture *m = NULL;
    rtk_plan p;
    memset(&p, 0, sizeof p);
    if (!st->runs[i].target->build(&st->runs[i].tc, &m) && !st->runs[i].sampler->plan(&st->runs[i].sc, m, &p))
      costs[i] = run_cost(&st->runs[i], &p, m);
    total += costs[i];
    rtk_plan_free(&p);
    rtk_mixture_free(m);
  }
  rtk_progress prog;
  rtk_progress_init(&prog, rank == 0, st->nruns, total, st->runs[0].so.progress_every);
  if (rank == 0 && !rc)
    fprintf(stderr, "rtkbench: %d run%s on %d rank%s -> %s\n", st->nruns, st->nruns == 1 ? "" : "s", size,
            size == 1 ? "" : "s", out);
  int done = 0, skipped = 0, made = 0;
  for (int i = 0; i < st->nruns && !rc; i++) {
    if (complete[i]) {
      done++;
      skipped++;
      rtk_progress_run_done(&prog, costs[i]);
      continue;
    }
    rc = rtk_collective_stop(comm);
    if (rc) break;
    if (resuming) rc = remove_incomplete(file, &st->runs[i]);
    if (!rc) rc = run_one(comm, &st->runs[i], &st->runs[0], file, &prog, &res[i]);
    if (!rc) {
      done++;
      made++;
      rtk_progress_run_done(&prog, costs[i]);
      if (rank == 0 && !prog.tty)
        fprintf(stderr, "[run %d/%d] %s %s done: accuracy %.4f, NFE %.1f, %.2fs\n", i + 1, st->nruns,
                st->runs[i].sampler->name, st->runs[i].sweep, res[i].accuracy, res[i].nfe, res[i].wall);
    }
  }
  rtk_progress_finish(&prog);
  if (file >= 0 && (!rc || rc == RTK_ERR_INTERRUPTED)) {
    int crc = rtk_h5_close(file, rc != RTK_OK);
    if (!rc) rc = crc;
  } else if (file >= 0) {
    /* after a failure nothing more is flushed: the file stays as the last
     * successful flush left it (every complete run intact), and the process
     * exits without HDF5's clean-up (rtk_h5_abandon, main.c) */
    rtk_h5_abandon(file);
  }
  if (rc == RTK_ERR_INTERRUPTED) {
    /* the file is valid: finished runs are complete, the interrupted one is not */
    if (rank == 0) {
      char again[8192] = "";
      int has_o = 0;
      for (int i = 0; i < cli->argc; i++) {
        if (!strcmp(cli->argv[i], "--force") || !strcmp(cli->argv[i], "--resume")) continue;
        has_o |= !strcmp(cli->argv[i], "-o") || !strcmp(cli->argv[i], "--output");
        if (i) snprintf(again + strlen(again), sizeof again - strlen(again), " ");
        append_quoted(again, sizeof again, cli->argv[i]);
      }
      if (!has_o) {
        snprintf(again + strlen(again), sizeof again - strlen(again), " -o ");
        append_quoted(again, sizeof again, out);
      }
      fprintf(stderr, "rtkbench: stopped by a signal with %d of %d runs complete; to finish the study run\n  %s --resume\n",
              done, st->nruns, again);
    }
  } else if (rc) {
    /* A file this invocation created and finished no run in is removed
     * (only if it is still that regular file); one holding complete runs is
     * kept for --resume.  Nothing else is ever removed. */
    if (rank == 0 && of.created && done == 0) rtk_out_remove_created(&of);
    else if (rank == 0 && done > 0)
      fprintf(stderr, "rtkbench: %d of %d runs are complete in '%s'; after fixing the cause, add --resume to finish\n",
              done, st->nruns, out);
  } else if (rank == 0) {
    if (resuming) printf("resumed: %d of %d runs were already complete\n", skipped, st->nruns);
    print_summary(st, res, done, size);
    printf("results: %s\n", out);
  }
  (void)made;
  if (rank == 0 && of.pending) rtk_out_remove_created(&of); /* a new file that never got its header */
  if (rank == 0) rtk_out_release(&of);
  free(costs);
  free(res);
  free(complete);
  rtk_backend_cuda.detach(); /* a no-op unless a cuda run attached a device */
  return rc;
}

/* Estimated peak memory of one run on the busiest rank, in bytes: particles
 * (and boundaries), the mixture and its coefficients (with the exact score's
 * cache of per-time sets, one per grid time up to its budget), a sampler
 * workspace per block, histograms and diagnostics.  An estimate, documented
 * as such. */
double rtk_run_memory(const rtk_runspec *r, const rtk_plan *p, const rtk_mixture *m, int nranks) {
  const double N = (double)r->so.particles, B = (double)r->so.block, d = m->d, K = m->K, S = p->nseg;
  const double nb = ceil(N / B), nloc = fmin(N, ceil(nb / (nranks > 0 ? nranks : 1)) * B);
  const double bins = (double)r->so.diag.bins + 2;
  double b = nloc * d * 8 * (1 + (r->so.boundaries ? S + 1 : 0)) + nloc * 4; /* X, boundaries, modes */
  if (r->so.schedule == RTK_SCHEDULE_DYNAMIC && r->so.backend == RTK_BACKEND_CPU && nranks > 1)
    b += fmax(nloc / 2, B) * d * 8 * (1 + (r->so.boundaries ? S + 1 : 0)); /* others' blocks (schedule.c's cap) */
  b += K * d * 8 * 6;                                                          /* mixture + coefficients */
  /* the exact score's cache (score_exact.c): up to its budget of coefficient sets, and of normalisers, a grid time each */
  const double per = 8 * (2 * K * d + K), cache = (double)RTK_SCORE_CACHE_BYTES;
  b += fmin(S + 1, floor(cache / per)) * per + fmin(S + 1, floor(cache / (8 * (K + 1)))) * 8 * (K + 1);
  b += B * (3 * K + 16 * d) * 8;                                               /* sampler workspace */
  b += d * bins * 8 * 3;                                                       /* histograms, probs, signs */
  if (r->so.diag.boundary_accuracy && (S + 1) * d * bins <= 16777216.0) b += (S + 1) * d * bins * 8;
  b += (double)r->so.diag.slices * (d + bins) * 8;
  if (r->so.diag.moments) b += (d <= 64 ? d * d : d) * 8 * 2;
  b += rtk_diag_trace_values(r->so.diag.trace, r->so.particles, p, m->d) * 8;
  return b;
}

/* bytes of memory available to each rank of this node (0 if unknown) */
static double available_per_rank(MPI_Comm comm) {
  double avail = 0;
  FILE *f = fopen("/proc/meminfo", "r");
  if (f) {
    char line[256];
    while (fgets(line, sizeof line, f)) {
      long long kb;
      if (sscanf(line, "MemAvailable: %lld kB", &kb) == 1) avail = (double)kb * 1024;
    }
    fclose(f);
  }
  MPI_Comm node;
  int local = 1;
  if (MPI_Comm_split_type(comm, MPI_COMM_TYPE_SHARED, 0, MPI_INFO_NULL, &node) == MPI_SUCCESS) {
    MPI_Comm_size(node, &local);
    MPI_Comm_free(&node);
  }
  return avail / local;
}

int rtk_study_check_memory(MPI_Comm comm, const rtk_study *st) {
  int size;
  MPI_Comm_size(comm, &size);
  const double avail = available_per_rank(comm); /* collective: called by every rank */
  if (avail <= 0) return RTK_OK;
  for (int i = 0; i < st->nruns; i++) {
    const rtk_runspec *r = &st->runs[i];
    if (!r->so.memory_check) continue;
    rtk_mixture *m = NULL;
    rtk_plan p;
    memset(&p, 0, sizeof p);
    if (r->target->build(&r->tc, &m) || r->sampler->plan(&r->sc, m, &p)) {
      rtk_mixture_free(m);
      return RTK_ERR(RTK_ERR_RUNTIME, "run %s: cannot rebuild its target and plan", r->id);
    }
    const double need = rtk_run_memory(r, &p, m, size);
    rtk_plan_free(&p);
    rtk_mixture_free(m);
    if (need > avail)
      return RTK_ERR(RTK_ERR_INPUT,
                     "run %s needs about %.3g GiB per rank, but only %.3g GiB are available per rank on this node "
                     "(%d ranks); use more ranks or nodes, fewer particles, a smaller run.block, or set "
                     "run.memory_check = false to run anyway", r->id, need / 1073741824.0, avail / 1073741824.0,
                     size);
  }
  return RTK_OK;
}

void rtk_study_print_plan(const rtk_study *st, int nranks) {
  double flops = 0, bytes = 0, mem = 0;
  printf("%-5s %-15s %-34s %10s %10s %8s %6s %12s %10s\n", "run", "sampler", "sweep", "particles", "NFE/part", "segments",
         "dim", "GFLOP", "MiB/rank");
  for (int i = 0; i < st->nruns; i++) {
    const rtk_runspec *r = &st->runs[i];
    rtk_mixture *m = NULL;
    rtk_plan p;
    memset(&p, 0, sizeof p);
    if (r->target->build(&r->tc, &m) || r->sampler->plan(&r->sc, m, &p)) {
      rtk_mixture_free(m);
      continue;
    }
    double f = run_cost(r, &p, m);
    flops += f;
    double b = (double)r->so.particles * m->d * 8 * (r->so.boundaries ? p.nseg + 2 : 1);
    if (b > bytes) bytes = b;
    const double rm = rtk_run_memory(r, &p, m, nranks);
    if (rm > mem) mem = rm;
    printf("%-5d %-15s %-34.34s %10lld %10lld %8d %6d %12.2f %10.1f\n", i, r->sampler->name, r->sweep[0] ? r->sweep : "-",
           (long long)r->so.particles, (long long)p.nfe, p.nseg, m->d, f * 1e-9, rm / 1048576.0);
    rtk_plan_free(&p);
    rtk_mixture_free(m);
  }
  printf("\n%d runs, %.3g GFLOP of kernel work in total; largest run keeps %.3g MiB of particles per rank on %d rank%s.\n",
         st->nruns, flops * 1e-9, bytes / nranks / 1048576.0, nranks, nranks == 1 ? "" : "s");
  printf("Estimated peak memory per rank (largest run): %.1f MiB; `run` refuses a run that needs more than the node "
         "has available per rank (run.memory_check = false overrides).\n", mem / 1048576.0);
}
