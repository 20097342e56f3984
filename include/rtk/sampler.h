/* Sampler plug-ins (IOR aiori style: one file per sampler, a struct of
 * function pointers, lookup by name).  Samplers see only the mixture, their
 * configuration and a block of particles: no MPI, no I/O, no config parsing.
 *
 * Life of a run, per rank:
 *   ops->plan(cfg, mix, &plan)                 -- grid, steps, NFE per particle
 *   ops->work_create(&ctx, B, &ws)             -- per-block scratch
 *   for each block of particles (global ids gid0 .. gid0+n-1):
 *       driver draws x_T ~ N(0, I) into X      -- (exact sampler ignores it)
 *       ops->run_block(&ctx, gid0, n, X, st, ws)
 *           calls ctx.at_boundary(k, ...) at every grid time t_k (k = 0..S)
 *   ops->work_free(ws)
 * The driver reduces the per-segment statistics across ranks. */
#ifndef RTK_SAMPLER_H
#define RTK_SAMPLER_H
#include <signal.h>
#include <stdint.h>

#include "rtk/mixture.h"
#include "rtk/options.h"
#include "rtk/score.h"

enum rtk_init_kind { RTK_INIT_GAUSSIAN = 0, RTK_INIT_DDPM = 1, RTK_INIT_MEAN = 2 };
#define RTK_INIT_CHOICES "gaussian|ddpm|mean"
enum rtk_step_mode { RTK_STEP_RELATIVE = 0, RTK_STEP_ABSOLUTE = 1, RTK_STEP_ADAPTIVE = 2 };
#define RTK_STEP_CHOICES "relative|absolute|adaptive"
enum rtk_quad_kind { RTK_QUAD_TRAPEZOID = 0, RTK_QUAD_SIMPSON = 1, RTK_QUAD_GAUSS = 2 };
#define RTK_QUAD_CHOICES "trapezoid|simpson|gauss"
enum rtk_ddpm_variant { RTK_DDPM_EXPONENTIAL = 0, RTK_DDPM_EULER = 1 };
#define RTK_DDPM_CHOICES "exponential|euler"
enum rtk_m3_variant { RTK_M3_TAYLOR = 0, RTK_M3_KDIFFUSION = 1 };
#define RTK_M3_CHOICES "taylor|k-diffusion"

/* Union of all samplers' parameters (each sampler's option table names the
 * fields it reads; shared time keys are in rtk_sampler_common_options). */
typedef struct rtk_sampler_cfg {
  int64_t nfe;         /* NFE budget per particle */
  double T, t_min, delta;
  int grid;            /* enum rtk_grid_kind */
  rtk_reallist times;  /* explicit grid for grid=list */
  int variant;         /* ddpm: enum rtk_ddpm_variant; dpm-solver++: enum rtk_m3_variant */
  int64_t segments, inner_steps;
  int init;            /* enum rtk_init_kind */
  double step;         /* tau, or c in tau = c / L_k */
  int step_mode;       /* enum rtk_step_mode */
  double target_accept, warmup; /* adaptive: acceptance target (MALA), warm-up fraction */
  double radius;       /* projected MALA: reject |z' - z| > radius (0: off) */
  int quad;            /* score-only MALA: enum rtk_quad_kind */
  int64_t quad_nodes;  /* Gauss-Legendre nodes */
  double gamma;        /* ULD friction */
  int64_t substeps;    /* PMM: K small LMC steps emulated per step */
  double rho;          /* karras grid exponent */
  int64_t order;       /* dpm-solver++, unipc: multistep order */
  int sde;             /* dpm-solver++: SDE variant */
  double s_churn, s_tmin, s_tmax, s_noise; /* heun: EDM Algorithm 2 churn */
  int64_t corrector_steps; /* pc: Langevin corrector steps per time */
  double snr;          /* pc: signal-to-noise ratio of the corrector step rule */
  int64_t group;       /* smc: particles per resampling group (aligned to global ids) */
  double ess_threshold; /* smc: resample a group when ESS < ess_threshold * group size */
  double fors_bound, fors_shift, fors_seg_cost, fors_curvature; /* fors: B, shift (units of B), NFE/segment guess, kappa */
  int fors_bound_mode, fors_overflow;          /* fors: absolute|relative, clip|grow */
  int64_t fors_points, fors_anchor, fors_max_rounds; /* fors: nodes per estimate, anchor steps, rounds cap */
} rtk_sampler_cfg;

/* What a sampler will do for one run: the grid and its cost. */
typedef struct rtk_plan {
  int nseg;         /* number of grid steps / segments S */
  double *times;    /* [S+1], times[0] = T, times[S] = end time */
  int *inner;       /* [S] inner MCMC steps per segment (RTK), else 0 */
  double *tau;      /* [S] inner step size per segment (RTK), else 0 */
  int64_t *nfe_seg; /* [S] NFE per particle in each segment (deterministic samplers) */
  int64_t nfe;      /* NFE per particle, sum of nfe_seg (expected value if nfe_random) */
  int nfe_random;   /* NFE per particle is random (PMM): counted, not planned */
  int has_accept;   /* records Metropolis acceptance */
  int *warmup;      /* [S] adaptive warm-up steps per segment (part of inner) */
} rtk_plan;

/* Per-segment counters for one rank (summed/maxed across ranks by the driver). */
typedef struct rtk_stats {
  int nseg;
  int64_t *nfe;      /* [S] score evaluations, summed over particles */
  int64_t *accept;   /* [S] accepted proposals */
  int64_t *propose;  /* [S] proposals */
  double *seconds;   /* [S] wall time spent in each segment */
  int64_t *groups;   /* [S] smc: resampling groups seen at the end of each segment */
  int64_t *resampled; /* [S] smc: groups resampled at the end of each segment */
  int64_t *ess_q;    /* [S] smc: sum over groups of ESS/size in units of 2^-30 (exact integer sums) */
  int64_t *estimates; /* [S] fors: estimates W drawn */
  int64_t *clipped;   /* [S] fors: estimates outside [-B, B] (clipped, or rounds ended by grow) */
  int64_t *exhausted; /* [S] fors: particles that reached max_rounds without accepting */
} rtk_stats;
#define RTK_ESS_UNIT 1073741824.0 /* 2^30 */

typedef void (*rtk_boundary_fn)(void *user, int k, int64_t gid0, int n, const double *X);
/* inner-chain hook of RTK samplers: state Z after step m of segment k (m = 0: z_0) */
typedef void (*rtk_inner_fn)(void *user, int k, int m, int64_t gid0, int n, const double *Z);

typedef struct rtk_block_ctx {
  const rtk_mixture *mix;
  const rtk_sampler_cfg *cfg;
  const rtk_plan *plan;
  uint64_t seed;
  rtk_boundary_fn at_boundary; /* may be NULL */
  void *user;
  rtk_inner_fn at_inner;       /* may be NULL */
  const rtk_score *score;      /* the score model; NULL: the exact score of mix */
} rtk_block_ctx;

/* Cancellation: the driver registers a flag (set by its signal handler);
 * samplers poll it every step and inner step and then return
 * RTK_ERR_INTERRUPTED, so a stop request is honoured within one step. */
extern const volatile sig_atomic_t *rtk_cancel_flag;
#define RTK_CANCELLED(ctx) ((void)(ctx), rtk_cancel_flag && *rtk_cancel_flag)

/* The workspace of samplers that take one score per step (ddpm, pc): the
 * score model's scratch, the block's scores S [B][d] and one noise vector
 * xi [d]; create/free have the signatures of rtk_sampler_ops' hooks. */
typedef struct rtk_step_ws {
  rtk_score_ws sw;
  double *S, *xi;
} rtk_step_ws;
int rtk_step_ws_create(const rtk_block_ctx *ctx, int B, void **out);
void rtk_step_ws_free(void *ws);
/* One DDPM step of h for a block of n particles with scores S at the step's
 * start: the exponential integrator x <- e^h x + 2(e^h - 1) s + sqrt(e^{2h} - 1) xi
 * (Euler-Maruyama when euler), noise keyed (seed, id, k, 0, STEP); xi [d]
 * scratch.  Used by ddpm and as pc's predictor. */
void rtk_ddpm_step(uint64_t seed, int64_t gid0, int k, double h, int euler, int n, int d, const double *S,
                   double *xi, double *X);

typedef struct rtk_sampler_ops {
  const char *name;
  const char *summary;
  const rtk_opt *options; /* sampler-specific keys (time keys are shared) */
  int uses_nfe;           /* 0: the NFE budget does not apply (exact) */
  int (*plan)(const rtk_sampler_cfg *cfg, const rtk_mixture *mix, rtk_plan *plan);
  int (*work_create)(const rtk_block_ctx *ctx, int B, void **ws);
  void (*work_free)(void *ws);
  int (*run_block)(const rtk_block_ctx *ctx, int64_t gid0, int n, double *X, rtk_stats *st, void *ws);
} rtk_sampler_ops;

const rtk_sampler_ops *rtk_sampler_lookup(const char *name);
/* 1 if the sampler reads log p_t (rtk-mala): it cannot run on a score model without energy */
int rtk_sampler_needs_energy(const rtk_sampler_ops *ops);
const rtk_sampler_ops *const *rtk_sampler_all(void); /* NULL-terminated */
/* keys every sampler section accepts: nfe, T, grid, t_min, delta, times */
extern const rtk_opt rtk_sampler_common_options[];

int rtk_plan_alloc(int nseg, rtk_plan *p);
void rtk_plan_free(rtk_plan *p);
/* grid from the shared time keys with S steps (S ignored for grid=list) */
int rtk_plan_grid(const rtk_sampler_cfg *cfg, int S, rtk_plan *p);
/* plan of the one-score-per-step samplers (ddpm, ddim, dpm-solver++): S = nfe steps */
int rtk_plan_one_nfe_per_step(const rtk_sampler_cfg *cfg, const rtk_mixture *mix, rtk_plan *p);
int rtk_stats_alloc(int nseg, rtk_stats *s);
void rtk_stats_free(rtk_stats *s);
void rtk_stats_zero(rtk_stats *s);

/* Run blocks b0..b1-1 of the global block grid (block b holds particles
 * b*B .. min((b+1)*B, N)-1): draw x_T ~ N(0, I) for each particle, then
 * ops->run_block.  X holds this range's rows, starting at particle b0*B.
 * after_block (may be NULL) is called after each block (progress, stop
 * requests); a nonzero return stops the loop with RTK_ERR_INTERRUPTED. */
int rtk_sample_blocks(const rtk_sampler_ops *ops, const rtk_block_ctx *ctx, int64_t N, int64_t B, int64_t b0,
                      int64_t b1, double *X, rtk_stats *st, int (*after_block)(void *user, int64_t gid0, int n),
                      void *user);
/* The same loop over pieces handed out by next (run.schedule = dynamic,
 * src/app/schedule.c): next(next_user, &gid0, &n, &Xb) returns 1 with the
 * piece's first particle gid0, its rows n (at most B) and the rows Xb [n][d]
 * that receive its particles, or 0 when none is left.  A piece's result
 * depends only on its particles (streams keyed by particle id), so any
 * assignment of particles to ranks, and any cut of the range into pieces,
 * gives the same bits (a sampler that couples particles, smc, needs pieces
 * of whole groups).  after_block(user, gid0, n) follows each piece. */
typedef int (*rtk_next_block_fn)(void *next_user, int64_t *gid0, int *n, double **Xb);
int rtk_sample_blocks_next(const rtk_sampler_ops *ops, const rtk_block_ctx *ctx, int64_t B, rtk_next_block_fn next,
                           void *next_user, rtk_stats *st, int (*after_block)(void *user, int64_t gid0, int n),
                           void *user);
/* x_T ~ N(0, I) for particles gid0..gid0+n-1 */
void rtk_draw_initial(uint64_t seed, int64_t gid0, int n, int d, double *X);

/* g_k(z) = sum_{i>=1} z^i / (i+k)! (k >= 1), the remainder of the exponential
 * integrator's phi functions: g_1(z) = (e^z - 1)/z - 1, g_{k+1}(z) = g_k(z)/z - 1/(k+1)!
 * (series for |z| < 1, recursion beyond: no cancellation at small steps) */
double rtk_expint_g(int k, double z);

/* smc: log of the incremental weight of a move x_t -> x_s (step h = t - s) by the
 * ddpm exponential kernel M(x_s | x_t) = N(e^h x_t + 2(e^h - 1) s_t(x_t), (e^{2h} - 1) I)
 * with x_s = mean + sqrt(e^{2h} - 1) xi:
 *   log G = log p_s(x_s) + log N(x_t; e^{-h} x_s, (1 - e^{-2h}) I) - log p_t(x_t) - log M(x_s | x_t) */
double rtk_smc_log_increment(int d, double h, const double *xt, double logpt, const double *xs, double logps,
                             const double *xi);

/* ddim / dpm-solver++: coefficients of grid step k (rtk/update.h's rtk_ode_step) given the two previous
 * steps' h = lambda_s - lambda_t (h1, h2); general = order 3 or sde, order2 = 2M; returns this step's h */
struct rtk_ode_step;
double rtk_ode_step_coefs(const rtk_sampler_cfg *cfg, const rtk_plan *p, int k, int general, int order2, double h1,
                          double h2, struct rtk_ode_step *c);

/* One-line helpers shared by samplers */
double rtk_now(void); /* monotonic seconds */

extern const rtk_sampler_ops rtk_sampler_exact, rtk_sampler_ddpm, rtk_sampler_ddim, rtk_sampler_dpmpp2m,
    rtk_sampler_pmm, rtk_sampler_rtk_ula, rtk_sampler_rtk_uld, rtk_sampler_rtk_mala, rtk_sampler_rtk_mala_score,
    rtk_sampler_heun, rtk_sampler_unipc, rtk_sampler_pc, rtk_sampler_smc, rtk_sampler_fors;

#endif
