/* A study: the configuration expanded into runs (sampler x sweep combination),
 * and the MPI driver that executes them and writes one HDF5 file. */
#ifndef RTK_APP_STUDY_H
#define RTK_APP_STUDY_H
#include <mpi.h>
#include <stdint.h>

#include "config.h"
#include "diagnostics.h"
#include "rtk/backend.h"
#include "rtk/options.h"
#include "rtk/sampler.h"
#include "rtk/score.h"
#include "rtk/target.h"

/* [run], [output] and [metrics] keys */
enum { RTK_SCHEDULE_STATIC = 0, RTK_SCHEDULE_DYNAMIC = 1 };
#define RTK_SCHEDULE_CHOICES "static|dynamic"

typedef struct rtk_study_opts {
  int64_t particles, seed, block;
  int64_t samples; /* [output] samples: final particles stored (-1: all) */
  char samplers[RTK_STRLEN];
  char file[RTK_STRLEN];
  int boundaries;
  int backend;      /* [run] backend: enum rtk_backend_kind */
  int precision;    /* [run] precision: enum rtk_precision */
  int memory_check; /* [run] memory_check: refuse runs larger than the memory available */
  int rng;          /* [run] rng: enum rtk_rng_gen, the generator of the sampler streams */
  int normal;       /* [run] normal: enum rtk_rng_normal_kind, the normal transform of the sampler streams */
  int schedule;     /* [run] schedule: RTK_SCHEDULE_STATIC or _DYNAMIC (blocks to ranks; no result changes) */
  double progress_every;
  rtk_diag_opts diag; /* [metrics] bins, range_sd, boundary_accuracy, slices, ...; [output] trace */
} rtk_study_opts;

typedef struct rtk_runspec {
  int index;
  char id[96];
  const rtk_sampler_ops *sampler;
  const rtk_target_ops *target;
  rtk_study_opts so;
  rtk_target_cfg tc;
  rtk_sampler_cfg sc;
  char sweep[512];     /* "nfe=100 seed=2": the swept values of this run */
  char *resolved;      /* the run's fully resolved configuration (INI text) */
  const rtk_score_ops *score; /* [score] model */
  rtk_score_cfg scc;          /* [score] keys */
  const rtk_mlp *net;         /* mlp weights (rtk_study_load_scores), else NULL */
} rtk_runspec;

typedef struct rtk_study {
  rtk_runspec *runs;
  int nruns;
  char *resolved; /* resolved configuration of the study (all keys, defaults filled in) */
  rtk_mlp **nets; /* [nnets] weights files read by rtk_study_load_scores, owned */
  int nnets;
} rtk_study;

/* Where targets that need a file (mog-file) get their data: attach() reads
 * tc->file (collectively, once per path) and fills tc->data/source/sha256. */
typedef struct rtk_target_loader {
  int (*attach)(void *ctx, rtk_target_cfg *tc);
  void *ctx;
} rtk_target_loader;

/* Validate every key and value and expand the sweep.  No MPI and no I/O of
 * its own: target files come through ld (may be NULL when none is used). */
int rtk_study_expand(const rtk_config *cfg, const rtk_target_loader *ld, rtk_study *st);
void rtk_study_free(rtk_study *st);
/* Read every score.file of the study (src/app/score_file.c): rank 0 reads and
 * validates, the verdict is collective, the weights are broadcast; runs point
 * at their network.  Bad files are input errors (exit 2) naming the dataset. */
int rtk_study_load_scores(MPI_Comm comm, rtk_study *st);
/* Serial reader of one weights file (no MPI); dim < 0 skips the dim check. */
int rtk_mlp_read(const char *path, int dim, rtk_mlp **out);
/* Collective: relative mean-square score error err[k] (and its SE) of `score`
 * at every grid time of plan, on nsamp exact samples of p_{t_k} (score_error.c). */
int rtk_score_error_measure(MPI_Comm comm, const rtk_score *score, const rtk_mixture *mix, const rtk_plan *plan,
                            int64_t nsamp, int64_t B, uint64_t seed, double *err, double *se);

typedef struct rtk_cli_run {
  const char *config_path;
  const char *output; /* -o, or NULL */
  int force, resume;
  int argc;
  char **argv;
} rtk_cli_run;

/* Collective error agreement: if any rank's rc is nonzero, every rank returns
 * the error (code and message) of the lowest failing rank. */
int rtk_collective(MPI_Comm comm, int rc);
int rtk_study_execute(MPI_Comm comm, const rtk_config *cfg, const rtk_study *st, const rtk_cli_run *cli);
/* signals: handler installed right after MPI_Init; the stop flag is agreed
 * across ranks by rtk_collective_stop (RTK_ERR_INTERRUPTED if any rank saw one) */
void rtk_signals_install(void);
int rtk_stop_requested(void);
int rtk_collective_stop(MPI_Comm comm);
/* hex digest of the expanded study (every run's id and resolved configuration, in order) */
void rtk_study_digest(const rtk_study *st, char hex[40]);
/* estimated peak bytes of a run on the busiest of nranks ranks */
double rtk_run_memory(const rtk_runspec *r, const rtk_plan *p, const rtk_mixture *m, int nranks);
/* collective: refuse (exit 2) runs whose estimate exceeds the memory available per rank */
int rtk_study_check_memory(MPI_Comm comm, const rtk_study *st);
/* validate: print the expanded runs and a cost estimate on rank 0 */
void rtk_study_print_plan(const rtk_study *st, int nranks);
/* list: samplers, targets and all keys with defaults */
void rtk_print_catalogue(void);

#endif
