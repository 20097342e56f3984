/* Configuration -> list of fully resolved runs.  Every key is checked against
 * the option tables (the same ones `rtkbench list` prints), every value is
 * parsed and range-checked, every plan is built once, all before any output
 * exists: bad input fails here with file:line, exit code 2. */
#include <ctype.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rtk/error.h"
#include "rtk/grid.h"
#include "rtk/rng.h"
#include "rtk/ziggurat.h"
#include "study.h"
#include "verify.h"

/* most values in one list (a [sweep] axis, run.samplers) */
#define RTK_SWEEP_MAX_VALUES 10000
/* largest mixture: components x dimension (each of its arrays holds this many doubles) */
#define RTK_TARGET_MAX_ENTRIES (1 << 25)
/* largest NFE budget per particle */
#define RTK_MAX_NFE 10000000

static const rtk_opt run_opts[] = {
    {"particles", RTK_OPT_INT, offsetof(rtk_study_opts, particles), "20000", 1, 1e13, 0, "number of particles N (global ids 0..N-1)"},
    {"seed", RTK_OPT_INT, offsetof(rtk_study_opts, seed), "1", 0, 9.0e18, 0, "random seed: Philox key (seed, particle id)"},
    {"samplers", RTK_OPT_STR, offsetof(rtk_study_opts, samplers), "exact, ddpm, rtk-mala", 0, 0, 0, "comma list of samplers to run (one row each)"},
    {"block", RTK_OPT_INT, offsetof(rtk_study_opts, block), "256", 1, 1e6, 0, "particles per block (the unit of kernel work; results do not depend on it for a fixed BLAS)"},
    {"progress", RTK_OPT_REAL, offsetof(rtk_study_opts, progress_every), "10", 0, 1e6, 0, "seconds between progress lines when stderr is not a terminal (0: no progress output)"},
    {"backend", RTK_OPT_ENUM, offsetof(rtk_study_opts, backend), "cpu", 0, 0, RTK_BACKEND_CHOICES, "where the samplers run: cpu (every rank on its cores) or cuda (one GPU per rank, by node-local rank; docs/design.md)"},
    {"precision", RTK_OPT_ENUM, offsetof(rtk_study_opts, precision), "fp64", 0, 0, RTK_PRECISION_CHOICES, "floating point of the sampler's state and score kernel (fp32: cuda backend only)"},
    {"rng", RTK_OPT_ENUM, offsetof(rtk_study_opts, rng), "philox4x32", 0, 0, RTK_RNG_CHOICES, "generator of the sampler streams (particle noise, proposals, coins): philox4x32 (Random123 Philox4x32-10 in SIMD lanes; the default since issue 11) or philox4x64 (Random123 Philox4x64-10, slower; the default before, other bits, same law); target, score and metrics always use philox4x64 (docs/design.md)"},
    {"schedule", RTK_OPT_ENUM, offsetof(rtk_study_opts, schedule), "dynamic", 0, 0, RTK_SCHEDULE_CHOICES, "which rank computes which block on the cpu backend: static (each rank its own contiguous range) or dynamic (the ranks of a node share out their blocks at run time, so faster cores take more; the same bits either way; docs/design.md)"},
    {"normal", RTK_OPT_ENUM, offsetof(rtk_study_opts, normal), "box-muller", 0, 0, RTK_RNG_NORMAL_CHOICES, "normal transform of the sampler streams: box-muller (two words per pair of normals, SLEEF log and sincospi) or ziggurat (Marsaglia-Tsang, one word per normal; other bits, same law); orthogonal to run.rng; target, score and metrics always use box-muller (docs/design.md)"},
    {"memory_check", RTK_OPT_BOOL, offsetof(rtk_study_opts, memory_check), "true", 0, 0, 0, "refuse a run whose estimated memory per rank (see validate) exceeds what the node has available per rank"},
    RTK_OPT_END};
static const rtk_opt output_opts[] = {
    {"file", RTK_OPT_STR, offsetof(rtk_study_opts, file), "", 0, 0, 0, "results file (default results/<config name>.h5; -o overrides)"},
    {"samples", RTK_OPT_INT, offsetof(rtk_study_opts, samples), "-1", -1, 9.0e18, 0, "final particles stored in /runs/<id>/samples: the first n by global id (-1: all N; 0: none). Metrics always use all N"},
    {"boundaries", RTK_OPT_BOOL, offsetof(rtk_study_opts, boundaries), "false", 0, 0, 0, "also store particles at every grid time: /runs/<id>/boundaries [S+1][N][d]"},
    {"trace", RTK_OPT_INT, offsetof(rtk_study_opts, diag.trace), "0", 0, 1e6, 0, "store the full inner chains of this many evenly spaced particles (RTK samplers): /runs/<id>/trace"},
    RTK_OPT_END};
static const rtk_opt metrics_opts[] = {
    {"bins", RTK_OPT_INT, offsetof(rtk_study_opts, diag.bins), "100", 1, 1e6, 0, "histogram bins per coordinate (plus two tail bins)"},
    {"range_sd", RTK_OPT_REAL, offsetof(rtk_study_opts, diag.range_sd), "4", 0.1, 100, 0, "histogram range: min_k(mu - r sd) .. max_k(mu + r sd)"},
    {"boundary_accuracy", RTK_OPT_BOOL, offsetof(rtk_study_opts, diag.boundary_accuracy), "true", 0, 0, 0, "accuracy at every grid time against the exact p_t there (skipped above 2^24 counters)"},
    {"slices", RTK_OPT_INT, offsetof(rtk_study_opts, diag.slices), "8", 0, 10000, 0, "random unit directions for the sliced marginal accuracy (0: off)"},
    {"slice_seed", RTK_OPT_INT, offsetof(rtk_study_opts, diag.slice_seed), "1", 0, 9.0e18, 0, "seed of the slice directions"},
    {"moments", RTK_OPT_BOOL, offsetof(rtk_study_opts, diag.moments), "true", 0, 0, 0, "mean and covariance error vs the exact moments (covariance for dim <= 64, else variances)"},
    {"frechet", RTK_OPT_BOOL, offsetof(rtk_study_opts, diag.frechet), "true", 0, 0, 0, "Fréchet distance of the samples' mean and covariance to the exact ones (dim <= 1024)"},
    {"frechet_sets", RTK_OPT_INT, offsetof(rtk_study_opts, diag.frechet_sets), "4", 0, 64, 0, "independent exact sample sets of size N that measure the Fréchet noise floor (0: no floor)"},
    RTK_OPT_END};

typedef struct {
  char section[64], key[64], origin[600];
  char **values;
  int n;
} axis;

typedef struct {
  const char *section, *key, *value, *origin;
} override;

typedef struct {
  const rtk_config *cfg;
  const override *ov;
  int nov;
} lookup_ctx;

static const char *lookup(const lookup_ctx *lc, const char *section, const char *key, const char **origin) {
  for (int i = lc->nov - 1; i >= 0; i--)
    if (!strcmp(lc->ov[i].section, section) && !strcmp(lc->ov[i].key, key)) {
      *origin = lc->ov[i].origin;
      return lc->ov[i].value;
    }
  const rtk_kv *kv = rtk_config_find(lc->cfg, section, key);
  if (!kv) return NULL;
  *origin = kv->origin;
  return kv->value;
}

static int input_error_at(const char *origin, const char *section) {
  char msg[1024];
  snprintf(msg, sizeof msg, "%s", rtk_error_message());
  return RTK_ERR(RTK_ERR_INPUT, "%s: [%s] %s", origin, section, msg);
}

/* apply every option of `table` found in `section` to obj */
static int apply_table(const lookup_ctx *lc, const char *section, const rtk_opt *table, void *obj) {
  for (const rtk_opt *o = table; o->key; o++) {
    const char *origin, *v = lookup(lc, section, o->key, &origin);
    if (v && rtk_opt_parse(o, v, obj)) return input_error_at(origin, section);
  }
  return RTK_OK;
}

static int is_time_key(const char *key) { return strcmp(key, "nfe") != 0 && rtk_opt_find(rtk_sampler_common_options, key); }

static const char *known_sections = "run, target, score, time, output, metrics, sweep, or a sampler name";

static int check_section(const char *section, const char *origin) {
  static const char *fixed[] = {"run", "target", "score", "time", "output", "metrics", "sweep"};
  for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++)
    if (!strcmp(section, fixed[i])) return RTK_OK;
  if (rtk_sampler_lookup(section)) return RTK_OK;
  return RTK_ERR(RTK_ERR_INPUT, "%s: unknown section [%s] (expected %s)", origin, section, known_sections);
}

/* Is (section, key) a key this program knows (target keys: of any kind)? */
static int check_key(const char *section, const char *key, const char *origin) {
  if (!strcmp(section, "run")) {
    if (rtk_opt_find(run_opts, key) || !strcmp(key, "nfe")) return RTK_OK;
  } else if (!strcmp(section, "output")) {
    if (rtk_opt_find(output_opts, key)) return RTK_OK;
  } else if (!strcmp(section, "metrics")) {
    if (rtk_opt_find(metrics_opts, key)) return RTK_OK;
  } else if (!strcmp(section, "time")) {
    if (is_time_key(key)) return RTK_OK;
  } else if (!strcmp(section, "target")) {
    if (!strcmp(key, "kind")) return RTK_OK;
    for (const rtk_target_ops *const *t = rtk_target_all(); *t; t++)
      if (rtk_opt_find((*t)->options, key)) return RTK_OK;
  } else if (!strcmp(section, "score")) {
    if (!strcmp(key, "model") || rtk_opt_find(rtk_score_common_options, key)) return RTK_OK;
    for (const rtk_score_ops *const *m = rtk_score_all(); *m; m++)
      if (rtk_opt_find((*m)->options, key)) return RTK_OK;
  } else if (!strcmp(section, "sweep")) {
    return RTK_OK; /* checked when the axes are parsed */
  } else {
    const rtk_sampler_ops *s = rtk_sampler_lookup(section);
    if (!s) return RTK_ERR(RTK_ERR_INPUT, "%s: unknown section [%s] (expected %s)", origin, section, known_sections);
    if (rtk_opt_find(rtk_sampler_common_options, key) || rtk_opt_find(s->options, key)) return RTK_OK;
    return RTK_ERR(RTK_ERR_INPUT, "%s: unknown key '%s' for sampler [%s] (see `rtkbench list`)", origin, key, section);
  }
  return RTK_ERR(RTK_ERR_INPUT, "%s: unknown key '%s' in section [%s] (see `rtkbench list`)", origin, key, section);
}

static char *trim(char *s) {
  while (isspace((unsigned char)*s)) s++;
  char *e = s + strlen(s);
  while (e > s && isspace((unsigned char)e[-1])) *--e = '\0';
  return s;
}

static void free_list(char **v, int n) {
  for (int i = 0; v && i < n; i++) free(v[i]);
  free(v);
}

/* split "a, b, c" into a malloc'd array of malloc'd strings (at most RTK_SWEEP_MAX_VALUES) */
static int split_list(const char *text, char ***out, int *n) {
  *out = NULL;
  *n = 0;
  char *buf = strdup(text);
  int cap = 8;
  char **v = malloc(sizeof(char *) * cap);
  if (!buf || !v) {
    free(buf);
    free(v);
    return RTK_ERR(RTK_ERR_MEM, "out of memory");
  }
  for (char *save = NULL, *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
    tok = trim(tok);
    if (!*tok) continue;
    if (*n >= RTK_SWEEP_MAX_VALUES) {
      free(buf);
      free_list(v, *n);
      *n = 0;
      return RTK_ERR(RTK_ERR_INPUT, "more than %d values in one list", RTK_SWEEP_MAX_VALUES);
    }
    if (*n == cap) {
      char **nv = realloc(v, sizeof(char *) * (cap *= 2));
      if (!nv) {
        free(buf);
        free_list(v, *n);
        *n = 0;
        return RTK_ERR(RTK_ERR_MEM, "out of memory");
      }
      v = nv;
    }
    if (!(v[*n] = strdup(tok))) {
      free(buf);
      free_list(v, *n);
      *n = 0;
      return RTK_ERR(RTK_ERR_MEM, "out of memory");
    }
    (*n)++;
  }
  free(buf);
  *out = v;
  return RTK_OK;
}

static void free_axes(axis *ax, int n) {
  for (int a = 0; ax && a < n; a++) free_list(ax[a].values, ax[a].n);
  free(ax);
}

static int parse_axes(const rtk_config *cfg, axis **out, int *nout) {
  axis *ax = calloc((size_t)cfg->n + 1, sizeof(axis));
  if (!ax) return RTK_ERR(RTK_ERR_MEM, "out of memory");
  int n = 0;
  for (int i = 0; i < cfg->n; i++) {
    const rtk_kv *kv = &cfg->kv[i];
    if (strcmp(kv->section, "sweep")) continue;
    axis *a = &ax[n];
    snprintf(a->origin, sizeof a->origin, "%s", kv->origin);
    const char *k = kv->key, *dot = strchr(k, '.');
    if (!dot) {
      static const char *alias[][3] = {{"nfe", "run", "nfe"}, {"seed", "run", "seed"},
                                       {"dim", "target", "dim"}, {"particles", "run", "particles"}};
      int found = 0;
      for (size_t j = 0; j < sizeof alias / sizeof alias[0]; j++)
        if (!strcmp(k, alias[j][0])) {
          snprintf(a->section, sizeof a->section, "%s", alias[j][1]);
          snprintf(a->key, sizeof a->key, "%s", alias[j][2]);
          found = 1;
        }
      if (!found) {
        free_axes(ax, n);
        return RTK_ERR(RTK_ERR_INPUT, "%s: unknown sweep key '%s' (use nfe, seed, dim, particles or section.key)", kv->origin, k);
      }
    } else {
      snprintf(a->section, sizeof a->section, "%.*s", (int)(dot - k), k);
      snprintf(a->key, sizeof a->key, "%s", dot + 1);
      if (!strcmp(a->section, "sweep") || (!strcmp(a->section, "run") && !strcmp(a->key, "samplers")) ||
          (!strcmp(a->section, "run") && !strcmp(a->key, "progress")) ||
          (!strcmp(a->section, "run") && !strcmp(a->key, "memory_check")) ||
          (!strcmp(a->section, "run") && !strcmp(a->key, "schedule")) || !strcmp(a->section, "output") ||
          !strcmp(a->key, "times")) {
        free_axes(ax, n);
        return RTK_ERR(RTK_ERR_INPUT,
                       "%s: [sweep] %s cannot be swept (one value per study; samplers go in run.samplers; a list of "
                       "times is one value, so sweep grid or nfe instead)", kv->origin, k);
      }
      int krc = check_key(a->section, a->key, kv->origin);
      if (krc) {
        free_axes(ax, n);
        return krc;
      }
    }
    int rc = split_list(kv->value, &a->values, &a->n);
    if (rc) {
      char msg[1024];
      snprintf(msg, sizeof msg, "%s", rtk_error_message());
      free_axes(ax, n);
      return rc == RTK_ERR_INPUT ? RTK_ERR(rc, "%s: [sweep] %s: %s", kv->origin, k, msg) : rc;
    }
    if (a->n == 0) {
      free_list(a->values, a->n);
      free_axes(ax, n);
      return RTK_ERR(RTK_ERR_INPUT, "%s: [sweep] %s has no values", kv->origin, k);
    }
    n++;
  }
  *out = ax;
  *nout = n;
  return RTK_OK;
}

static void append(char **buf, size_t *len, size_t *cap, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static void append(char **buf, size_t *len, size_t *cap, const char *fmt, ...) {
  va_list ap;
  if (!*buf) return;
  for (;;) {
    va_start(ap, fmt);
    int w = vsnprintf(*buf + *len, *cap - *len, fmt, ap);
    va_end(ap);
    if (w >= 0 && (size_t)w < *cap - *len) {
      *len += (size_t)w;
      return;
    }
    *cap = 2 * *cap + (size_t)w + 64;
    char *nb = w < 0 ? NULL : realloc(*buf, *cap);
    if (!nb) { /* out of memory: the caller sees NULL */
      free(*buf);
      *buf = NULL;
      return;
    }
    *buf = nb;
  }
}

static void dump_table(char **b, size_t *l, size_t *c, const char *section, const rtk_opt *table, const void *obj,
                       int skip_nfe) {
  char val[8192];
  if (section) append(b, l, c, "[%s]\n", section);
  for (const rtk_opt *o = table; o->key; o++) {
    if (skip_nfe && !strcmp(o->key, "nfe")) continue;
    if (!strcmp(o->key, "memory_check") || !strcmp(o->key, "schedule"))
      continue; /* a safety switch and the block assignment: they change no result, so --resume may differ */
    rtk_opt_format(o, obj, val, sizeof val);
    append(b, l, c, "%s = %s\n", o->key, val);
  }
}

static char *resolved_text(const rtk_runspec *r) {
  size_t len = 0, cap = 4096;
  char *b = malloc(cap);
  if (!b) return NULL;
  b[0] = '\0';
  rtk_study_opts so = r->so; /* the run's own sampler, so the text is a valid study of this one run */
  snprintf(so.samplers, sizeof so.samplers, "%s", r->sampler->name);
  dump_table(&b, &len, &cap, "run", run_opts, &so, 0);
  if (r->sampler->uses_nfe) append(&b, &len, &cap, "nfe = %lld\n", (long long)r->sc.nfe);
  append(&b, &len, &cap, "\n");
  append(&b, &len, &cap, "[target]\nkind = %s\n", r->target->name);
  dump_table(&b, &len, &cap, NULL, r->target->options, &r->tc, 0);
  append(&b, &len, &cap, "\n");
  append(&b, &len, &cap, "[score]\nmodel = %s\n", r->score->name);
  if (r->score != &rtk_score_exact) {
    dump_table(&b, &len, &cap, NULL, rtk_score_common_options, &r->scc, 0);
    dump_table(&b, &len, &cap, NULL, r->score->options, &r->scc, 0);
  }
  append(&b, &len, &cap, "\n");
  dump_table(&b, &len, &cap, r->sampler->name, rtk_sampler_common_options, &r->sc, 1);
  dump_table(&b, &len, &cap, NULL, r->sampler->options, &r->sc, 0);
  append(&b, &len, &cap, "\n");
  dump_table(&b, &len, &cap, "output", output_opts, &r->so, 0);
  append(&b, &len, &cap, "\n");
  dump_table(&b, &len, &cap, "metrics", metrics_opts, &r->so, 0);
  return b;
}

/* The size limit of output.trace (rtk_diag_trace_values), checked here so that `validate` catches it and no
 * output file is created. */
static int check_trace_size(const lookup_ctx *lc, const rtk_runspec *r, const rtk_plan *plan, int d) {
  const double vals = rtk_diag_trace_values(r->so.diag.trace, r->so.particles, plan, d);
  if (vals <= RTK_TRACE_MAX) return RTK_OK;
  const int64_t T = r->so.diag.trace < r->so.particles ? r->so.diag.trace : r->so.particles;
  const char *origin = "default";
  lookup(lc, "output", "trace", &origin);
  return RTK_ERR(RTK_ERR_INPUT,
                 "%s: [output] output.trace = %lld would store %.3g values; trace fewer particles "
                 "([%s]: %lld particles x %.0f chain states x dim %d)",
                 origin, (long long)T, vals, r->sampler->name, (long long)T, vals / ((double)T * d), d);
}

/* [score]: the model and its keys; a sampler that reads the energy is refused
 * with a model that has none.  Every [score] key must belong to some model
 * (check_key); keys of other models than the run's apply to the runs of their
 * model only (so score.model can be swept or --set on a study that sets, e.g.,
 * score.file). */
static int resolve_score(const lookup_ctx *lc, const rtk_sampler_ops *s, rtk_runspec *r) {
  const char *origin = "default", *name = lookup(lc, "score", "model", &origin);
  if (!name) name = "exact";
  r->score = rtk_score_lookup(name);
  if (!r->score) {
    char names[256] = "";
    for (const rtk_score_ops *const *m = rtk_score_all(); *m; m++)
      snprintf(names + strlen(names), sizeof names - strlen(names), "%s%s", names[0] ? ", " : "", (*m)->name);
    return RTK_ERR(RTK_ERR_INPUT, "%s: [score] model: unknown score model '%s' (known: %s)", origin, name, names);
  }
  memset(&r->scc, 0, sizeof r->scc);
  RTK_CHECK(rtk_opt_set_defaults(rtk_score_common_options, &r->scc));
  RTK_CHECK(rtk_opt_set_defaults(r->score->options, &r->scc));
  RTK_CHECK(apply_table(lc, "score", rtk_score_common_options, &r->scc));
  RTK_CHECK(apply_table(lc, "score", r->score->options, &r->scc));
  if (r->score == &rtk_score_mlp && !r->scc.file[0])
    return RTK_ERR(RTK_ERR_INPUT, "%s: [score] model = mlp needs score.file (weights written by analysis/train_score.py)",
                   origin);
  if (s == &rtk_sampler_smc && r->score != &rtk_score_exact)
    return RTK_ERR(RTK_ERR_INPUT,
                   "%s: [smc] weights particles by exact density ratios; it refuses score model '%s' (use score.model = exact)",
                   origin, name);
  if (rtk_sampler_needs_energy(s) && !r->score->has_energy)
    return RTK_ERR(RTK_ERR_INPUT,
                   "%s: [%s] needs the exact energy -log p_t, which score model '%s' does not have; use rtk-mala-score "
                   "(the paper's score-only MALA: the energy difference is a quadrature of the score)",
                   origin, s->name, name);
  return RTK_OK;
}

/* Resolve one run from the configuration plus the sweep overrides. */
static int resolve_run(const rtk_config *cfg, const rtk_target_loader *ld, const rtk_sampler_ops *s,
                       const override *ov, int nov, rtk_runspec *r) {
  lookup_ctx lc = {cfg, ov, nov};
  memset(r, 0, sizeof *r);
  r->sampler = s;
  RTK_CHECK(rtk_opt_set_defaults(run_opts, &r->so));
  RTK_CHECK(rtk_opt_set_defaults(output_opts, &r->so));
  RTK_CHECK(rtk_opt_set_defaults(metrics_opts, &r->so));
  RTK_CHECK(apply_table(&lc, "run", run_opts, &r->so));
  RTK_CHECK(apply_table(&lc, "output", output_opts, &r->so));
  RTK_CHECK(apply_table(&lc, "metrics", metrics_opts, &r->so));

  const char *origin = "default", *kind = lookup(&lc, "target", "kind", &origin);
  if (!kind) kind = "mog-grid";
  r->target = rtk_target_lookup(kind);
  if (!r->target) {
    char names[256] = "";
    for (const rtk_target_ops *const *t = rtk_target_all(); *t; t++)
      snprintf(names + strlen(names), sizeof names - strlen(names), "%s%s", names[0] ? ", " : "", (*t)->name);
    return RTK_ERR(RTK_ERR_INPUT, "%s: [target] kind: unknown target '%s' (known: %s)", origin, kind, names);
  }
  RTK_CHECK(rtk_opt_set_defaults(r->target->options, &r->tc));
  /* keys set for the target must belong to this kind */
  for (int i = 0; i < cfg->n; i++)
    if (!strcmp(cfg->kv[i].section, "target") && strcmp(cfg->kv[i].key, "kind") &&
        !rtk_opt_find(r->target->options, cfg->kv[i].key))
      return RTK_ERR(RTK_ERR_INPUT, "%s: [target] %s is not an option of target kind '%s' (see `rtkbench list`)",
                     cfg->kv[i].origin, cfg->kv[i].key, kind);
  for (int i = 0; i < nov; i++)
    if (!strcmp(ov[i].section, "target") && strcmp(ov[i].key, "kind") && !rtk_opt_find(r->target->options, ov[i].key))
      return RTK_ERR(RTK_ERR_INPUT, "%s: [target] %s is not an option of target kind '%s'", ov[i].origin, ov[i].key, kind);
  RTK_CHECK(apply_table(&lc, "target", r->target->options, &r->tc));
  if (r->target->needs_file) { /* read (collectively) and validated before anything is built from it */
    int rc = ld && ld->attach ? ld->attach(ld->ctx, &r->tc)
                              : RTK_ERR(RTK_ERR_INPUT, "target files cannot be read here");
    if (rc) {
      char msg[1024];
      snprintf(msg, sizeof msg, "%s", rtk_error_message());
      const char *torg = cfg->path;
      if (!lookup(&lc, "target", "file", &torg)) lookup(&lc, "target", "kind", &torg);
      return RTK_ERR(rc, "%s: [target] %s", torg, msg);
    }
  }
  RTK_CHECK(resolve_score(&lc, s, r));

  /* sampler: defaults < [run] nfe / [time] < [<sampler>] */
  RTK_CHECK(rtk_opt_set_defaults(rtk_sampler_common_options, &r->sc));
  RTK_CHECK(rtk_opt_set_defaults(s->options, &r->sc));
  for (const rtk_opt *o = rtk_sampler_common_options; o->key; o++) {
    const char *sec = !strcmp(o->key, "nfe") ? "run" : "time";
    const char *org, *v = lookup(&lc, sec, o->key, &org);
    if (v && rtk_opt_parse(o, v, &r->sc)) return input_error_at(org, sec);
  }
  for (int i = 0; i < nov; i++) { /* a sampler-section value would silently hide a sweep of the shared key */
    const rtk_kv *kv = rtk_config_find(cfg, s->name, ov[i].key);
    if (kv && (!strcmp(ov[i].section, "run") || !strcmp(ov[i].section, "time")))
      return RTK_ERR(RTK_ERR_INPUT, "%s: [%s] %s would override the sweep of %s.%s at %s; remove one of them",
                     kv->origin, s->name, ov[i].key, ov[i].section, ov[i].key, ov[i].origin);
    /* so would a sweep of the same key for this sampler (it would repeat identical runs) */
    for (int j = 0; j < nov && (!strcmp(ov[i].section, "run") || !strcmp(ov[i].section, "time")); j++)
      if (!strcmp(ov[j].section, s->name) && !strcmp(ov[j].key, ov[i].key))
        return RTK_ERR(RTK_ERR_INPUT, "%s: [sweep] %s.%s would override the sweep of %s.%s at %s for %s; remove one of them",
                       ov[j].origin, s->name, ov[j].key, ov[i].section, ov[i].key, ov[i].origin, s->name);
  }
  RTK_CHECK(apply_table(&lc, s->name, rtk_sampler_common_options, &r->sc));
  RTK_CHECK(apply_table(&lc, s->name, s->options, &r->sc));
  if (!s->uses_nfe) r->sc.nfe = 0;
  const char *org = cfg->path;
  if (s->uses_nfe && r->sc.grid == RTK_GRID_LIST && r->sc.times.n < 2) {
    if (!lookup(&lc, s->name, "grid", &org)) lookup(&lc, "time", "grid", &org);
    return RTK_ERR(RTK_ERR_INPUT, "%s: [%s] grid = list needs 'times' (in [time] or [%s]): a decreasing list from T to delta",
                   org, s->name, s->name);
  }
  if (s == &rtk_sampler_smc && r->so.block % r->sc.group) {
    if (!lookup(&lc, s->name, "group", &org)) lookup(&lc, "run", "block", &org);
    return RTK_ERR(RTK_ERR_INPUT, "%s: [smc] run.block = %lld must be a multiple of smc.group = %lld (groups may not straddle blocks)",
                   org, (long long)r->so.block, (long long)r->sc.group);
  }
  if (r->so.backend == RTK_BACKEND_CPU && r->so.precision != RTK_PREC_FP64) {
    lookup(&lc, "run", "precision", &org);
    return RTK_ERR(RTK_ERR_INPUT, "%s: run.precision = fp32 is implemented on the cuda backend only (run.backend = cuda)", org);
  }
  if (r->so.backend == RTK_BACKEND_CUDA &&
      rtk_backend_cuda.check(s, r->score, r->so.precision, &r->sc, r->so.diag.trace)) {
    char msg[1024];
    snprintf(msg, sizeof msg, "%s", rtk_error_message());
    lookup(&lc, "run", "backend", &org);
    return RTK_ERR(RTK_ERR_INPUT, "%s: [%s] %s", org, s->name, msg);
  }
  if (r->sc.delta >= r->sc.T) {
    if (!lookup(&lc, s->name, "delta", &org)) lookup(&lc, "time", "delta", &org);
    return RTK_ERR(RTK_ERR_INPUT, "%s: [%s] delta (%g) must be smaller than T (%g)", org, s->name, r->sc.delta, r->sc.T);
  }

  /* a plan holds O(NFE) values for the one-score-per-step samplers: bounded before it is built */
  if (s->uses_nfe && r->sc.nfe > RTK_MAX_NFE) {
    const char *norg = cfg->path;
    if (!lookup(&lc, s->name, "nfe", &norg)) lookup(&lc, "run", "nfe", &norg);
    return RTK_ERR(RTK_ERR_INPUT, "%s: [%s] nfe = %lld exceeds %.0e score evaluations per particle, the most a run may plan",
                   norg, s->name, (long long)r->sc.nfe, (double)RTK_MAX_NFE);
  }
  /* the mixture's size before it is built (K x d entries per array) */
  {
    double entries = (double)r->tc.dim;
    if (!strcmp(r->target->name, "mog-grid")) entries *= (double)r->tc.side * (double)r->tc.side;
    else if (!strcmp(r->target->name, "mog-random")) entries *= (double)r->tc.K;
    if (entries > RTK_TARGET_MAX_ENTRIES) {
      const char *torg = cfg->path;
      lookup(&lc, "target", "dim", &torg);
      return RTK_ERR(RTK_ERR_INPUT,
                     "%s: [target] %s: components x dim = %.3g exceeds the limit of %.3g (about %.0f MiB per array)",
                     torg, r->target->name, entries, (double)RTK_TARGET_MAX_ENTRIES,
                     RTK_TARGET_MAX_ENTRIES * 8 / 1048576.0);
    }
  }
  /* build target and plan once, so that impossible combinations fail now */
  rtk_mixture *mix = NULL;
  int rc = r->target->build(&r->tc, &mix);
  if (!rc) rc = rtk_mixture_validate(mix);
  if (rc) {
    rtk_mixture_free(mix);
    char msg[1024];
    snprintf(msg, sizeof msg, "%s", rtk_error_message());
    const char *torg = cfg->path;
    lookup(&lc, "target", "kind", &torg);
    return RTK_ERR(RTK_ERR_INPUT, "%s: [target] %s", torg, msg);
  }
  rtk_plan plan;
  rc = s->plan(&r->sc, mix, &plan);
  const int d = mix->d;
  rtk_mixture_free(mix);
  if (!rc && r->so.normal == RTK_RNG_ZIGGURAT && d > RTK_ZIG_MAX_N) {
    rtk_plan_free(&plan);
    const char *torg = cfg->path;
    lookup(&lc, "target", "dim", &torg);
    return RTK_ERR(RTK_ERR_INPUT, "%s: run.normal = ziggurat draws at most %d normals per stream (rtk/ziggurat.h), "
                   "and dim = %d needs %d; use run.normal = box-muller", torg, RTK_ZIG_MAX_N, d, d);
  }
  if (rc) {
    /* a plan fails on a combination of keys: name where each was set */
    static const char *keys[] = {"nfe", "segments", "inner_steps", "substeps", "grid", "times", "T", "t_min", "delta", "rho"};
    char msg[1024], where[1024] = "";
    const char *first = NULL;
    snprintf(msg, sizeof msg, "%s", rtk_error_message());
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
      const char *org = NULL, *sec = !strcmp(keys[i], "nfe") ? "run" : "time";
      if (!lookup(&lc, s->name, keys[i], &org) && !lookup(&lc, sec, keys[i], &org)) continue;
      if (!first) first = org;
      snprintf(where + strlen(where), sizeof where - strlen(where), "%s%s at %s", where[0] ? ", " : "", keys[i], org);
    }
    return RTK_ERR(RTK_ERR_INPUT, "%s: [%s] %s (%s)", first ? first : cfg->path, s->name, msg,
                   where[0] ? where : "all keys at their defaults");
  }
  rc = check_trace_size(&lc, r, &plan, d);
  rtk_plan_free(&plan);
  return rc;
}

/* A sampler that is not in run.samplers runs nothing, but its [<sampler>] section and its [sweep] axes
 * <sampler>.key are still checked key by key, through the same option tables and apply_table as a run of it
 * (resolve_run), into a scratch struct: an unused section stays valid for `--set run.samplers=...`. Checks
 * that need a whole run (delta < T, grid = list with times, the plan) are left to the runs that use it. */
static int check_idle_sampler(const rtk_config *cfg, const rtk_sampler_ops *s, const axis *ax, int nax) {
  rtk_sampler_cfg sc;
  memset(&sc, 0, sizeof sc);
  lookup_ctx lc = {cfg, NULL, 0};
  RTK_CHECK(rtk_opt_set_defaults(rtk_sampler_common_options, &sc));
  RTK_CHECK(rtk_opt_set_defaults(s->options, &sc));
  RTK_CHECK(apply_table(&lc, s->name, rtk_sampler_common_options, &sc));
  RTK_CHECK(apply_table(&lc, s->name, s->options, &sc));
  for (int a = 0; a < nax; a++) {
    if (strcmp(ax[a].section, s->name)) continue;
    for (int v = 0; v < ax[a].n; v++) { /* each value of the axis, as a run of this sampler would see it */
      const override ov = {ax[a].section, ax[a].key, ax[a].values[v], ax[a].origin};
      const lookup_ctx lv = {cfg, &ov, 1};
      RTK_CHECK(apply_table(&lv, s->name, rtk_sampler_common_options, &sc));
      RTK_CHECK(apply_table(&lv, s->name, s->options, &sc));
    }
  }
  return RTK_OK;
}

static int axis_applies(const axis *a, const rtk_sampler_ops *s) {
  if (rtk_sampler_lookup(a->section)) return !strcmp(a->section, s->name);
  if (!strcmp(a->section, "score")) return s->uses_nfe; /* the exact sampler evaluates no score */
  if (!strcmp(a->key, "nfe") && !strcmp(a->section, "run")) return s->uses_nfe;
  if (!strcmp(a->section, "time")) return s->uses_nfe || !strcmp(a->key, "delta");
  return 1;
}

/* the score model of the current sweep combination (NULL: unknown, reported by resolve_score) */
static const rtk_score_ops *current_model(const rtk_config *cfg, const axis *ax, int nax, const int *idx) {
  for (int a = nax - 1; a >= 0; a--)
    if (!strcmp(ax[a].section, "score") && !strcmp(ax[a].key, "model")) return rtk_score_lookup(ax[a].values[idx[a]]);
  const rtk_kv *kv = rtk_config_find(cfg, "score", "model");
  return rtk_score_lookup(kv ? kv->value : "exact");
}

/* a [sweep] axis score.<key> multiplies only the runs whose score model has that key */
static int score_axis_applies(const axis *a, const rtk_score_ops *model) {
  if (strcmp(a->section, "score") || !strcmp(a->key, "model") || rtk_opt_find(rtk_score_common_options, a->key))
    return 1;
  return !model || rtk_opt_find(model->options, a->key) != NULL;
}

int rtk_study_expand(const rtk_config *cfg, const rtk_target_loader *ld, rtk_study *st) {
  memset(st, 0, sizeof *st);
  for (int i = 0; i < cfg->nsec; i++) RTK_CHECK(check_section(cfg->sections[i].section, cfg->sections[i].origin));
  for (int i = 0; i < cfg->n; i++) RTK_CHECK(check_key(cfg->kv[i].section, cfg->kv[i].key, cfg->kv[i].origin));
  axis *ax = NULL;
  int nax = 0;
  RTK_CHECK(parse_axes(cfg, &ax, &nax));

  rtk_study_opts so;
  rtk_opt_set_defaults(run_opts, &so);
  lookup_ctx lc0 = {cfg, NULL, 0};
  char **names = NULL;
  int nnames = 0, rc = apply_table(&lc0, "run", run_opts, &so);
  const char *sorigin = "default";
  lookup(&lc0, "run", "samplers", &sorigin);
  if (!rc && (rc = split_list(so.samplers, &names, &nnames)) == RTK_ERR_INPUT)
    rc = RTK_ERR(RTK_ERR_INPUT, "%s: [run] samplers: too many samplers", sorigin);
  if (!rc && nnames == 0) rc = RTK_ERR(RTK_ERR_INPUT, "%s: [run] samplers: no sampler named", sorigin);
  /* a --set of a swept key would be silently replaced by the sweep's values */
  for (int i = 0; i < cfg->n && !rc; i++) {
    if (strncmp(cfg->kv[i].origin, "--set", 5)) continue;
    for (int a = 0; a < nax && !rc; a++)
      if (!strcmp(cfg->kv[i].section, ax[a].section) && !strcmp(cfg->kv[i].key, ax[a].key))
        rc = RTK_ERR(RTK_ERR_INPUT,
                     "%s: %s.%s is swept at %s, so this value would be ignored; change the sweep instead "
                     "(--set sweep.%s.%s=v1,v2,...)", cfg->kv[i].origin, ax[a].section, ax[a].key, ax[a].origin,
                     ax[a].section, ax[a].key);
  }
  /* the study's size, before anything is expanded */
  double total_runs = 0;
  for (int si = 0; si < nnames && !rc; si++) {
    const rtk_sampler_ops *s = rtk_sampler_lookup(names[si]);
    double prod = 1;
    for (int a = 0; a < nax && s; a++)
      if (axis_applies(&ax[a], s)) prod *= ax[a].n;
    total_runs += s ? prod : 1;
  }
  if (!rc && total_runs > RTK_MAX_RUNS)
    rc = RTK_ERR(RTK_ERR_INPUT,
                 "%s: the study expands to %.0f runs (samplers x sweep combinations); at most %d runs fit one "
                 "results file: split the study", nax ? ax[0].origin : sorigin, total_runs, RTK_MAX_RUNS);
  if (rc) {
    free_axes(ax, nax);
    free_list(names, nnames);
    return rtk_error_trace(rc, __FILE__, __LINE__, __func__);
  }

  /* an axis of a sampler that does not run multiplies nothing (so --set run.samplers=... works on any study) */
  int cap = 16;
  st->runs = calloc((size_t)cap, sizeof(rtk_runspec));
  override *ov = calloc((size_t)nax + 1, sizeof(override));
  int *idx = calloc((size_t)nax + 1, sizeof(int));
  if (!st->runs || !ov || !idx) rc = RTK_ERR(RTK_ERR_MEM, "out of memory");
  for (int si = 0; si < nnames && !rc; si++) {
    const rtk_sampler_ops *s = rtk_sampler_lookup(names[si]);
    if (!s) {
      char known[512] = "";
      for (const rtk_sampler_ops *const *p = rtk_sampler_all(); *p; p++)
        snprintf(known + strlen(known), sizeof known - strlen(known), "%s%s", known[0] ? ", " : "", (*p)->name);
      rc = RTK_ERR(RTK_ERR_INPUT, "%s: [run] samplers: unknown sampler '%s' (known: %s)", sorigin, names[si], known);
      break;
    }
    for (int j = 0; j < si; j++)
      if (!strcmp(names[j], names[si])) {
        rc = RTK_ERR(RTK_ERR_INPUT, "%s: [run] samplers: '%s' listed twice (sweep its options instead)", sorigin, names[si]);
        break;
      }
    if (rc) break;
    memset(idx, 0, sizeof(int) * (nax + 1));
    for (;;) { /* odometer over the axes that apply to this sampler */
      int nov = 0, skip = 0;
      char sweep[512] = "";
      const rtk_score_ops *model = current_model(cfg, ax, nax, idx);
      for (int a = 0; a < nax; a++) {
        if (!axis_applies(&ax[a], s)) continue;
        if (!score_axis_applies(&ax[a], model)) { /* one run, not one per value */
          skip |= idx[a] != 0;
          continue;
        }
        ov[nov++] = (override){ax[a].section, ax[a].key, ax[a].values[idx[a]], ax[a].origin};
        snprintf(sweep + strlen(sweep), sizeof sweep - strlen(sweep), "%s%s.%s=%s", sweep[0] ? " " : "",
                 ax[a].section, ax[a].key, ax[a].values[idx[a]]);
      }
      if (st->nruns == cap) {
        rtk_runspec *nr = realloc(st->runs, sizeof(rtk_runspec) * (size_t)(cap * 2));
        if (!nr) {
          rc = RTK_ERR(RTK_ERR_MEM, "out of memory");
          break;
        }
        st->runs = nr;
        cap *= 2;
      }
      if (!skip) {
        rtk_runspec *r = &st->runs[st->nruns];
        rc = resolve_run(cfg, ld, s, ov, nov, r);
        if (rc) break;
        r->index = st->nruns;
        snprintf(r->id, sizeof r->id, "%04d-%s", r->index, s->name);
        snprintf(r->sweep, sizeof r->sweep, "%s", sweep);
        r->resolved = resolved_text(r);
        st->nruns++;
        if (!r->resolved) {
          rc = RTK_ERR(RTK_ERR_MEM, "out of memory");
          break;
        }
      }
      int a = 0;
      for (; a < nax; a++) {
        if (!axis_applies(&ax[a], s)) continue;
        if (++idx[a] < ax[a].n) break;
        idx[a] = 0;
      }
      if (a == nax) break;
    }
  }
  /* samplers that do not run: their sections and axes are still checked */
  for (const rtk_sampler_ops *const *p = rtk_sampler_all(); *p && !rc; p++) {
    int used = 0;
    for (int j = 0; j < nnames && !used; j++) used = !strcmp(names[j], (*p)->name);
    if (!used) rc = check_idle_sampler(cfg, *p, ax, nax);
  }
  /* study-level resolved configuration: the file as given plus --set lines */
  if (!rc) {
    size_t len = 0, cap2 = 4096;
    char *b = malloc(cap2);
    if (b) b[0] = '\0';
    append(&b, &len, &cap2, "%s", cfg->text);
    int header = 0;
    for (int i = 0; i < cfg->n; i++)
      if (!strncmp(cfg->kv[i].origin, "--set", 5)) {
        if (!header) append(&b, &len, &cap2, "\n; command-line overrides (--set), applied after the file:\n");
        header = 1;
        append(&b, &len, &cap2, "; %s.%s = %s\n", cfg->kv[i].section, cfg->kv[i].key, cfg->kv[i].value);
      }
    st->resolved = b;
    if (!b) rc = RTK_ERR(RTK_ERR_MEM, "out of memory");
  }
  free(idx);
  free(ov);
  free_axes(ax, nax);
  free_list(names, nnames);
  if (rc) return rtk_error_trace(rc, __FILE__, __LINE__, __func__);
  return RTK_OK;
}

void rtk_study_free(rtk_study *st) {
  for (int i = 0; i < st->nnets; i++) rtk_mlp_free(st->nets[i]);
  free(st->nets);
  for (int i = 0; i < st->nruns; i++) free(st->runs[i].resolved);
  free(st->runs);
  free(st->resolved);
  memset(st, 0, sizeof *st);
}

static void print_table(const char *section, const rtk_opt *table, int skip_nfe) {
  for (const rtk_opt *o = table; o->key; o++) {
    if (skip_nfe >= 0 && (!strcmp(o->key, "nfe")) == skip_nfe) continue;
    char def[64];
    snprintf(def, sizeof def, "%s", o->def[0] ? o->def : "(none)");
    if (o->type == RTK_OPT_ENUM)
      printf("  %-9s %-12s = %-22s %s {%s}\n", section, o->key, def, o->help, o->choices);
    else
      printf("  %-9s %-12s = %-22s %s\n", section, o->key, def, o->help);
  }
}

void rtk_print_catalogue(void) {
  printf("SAMPLERS  (options go in a section named after the sampler; it also accepts every\n"
         "           [time] key and nfe, which override the shared values for that sampler)\n");
  for (const rtk_sampler_ops *const *s = rtk_sampler_all(); *s; s++) {
    printf("\n%-16s %s\n", (*s)->name, (*s)->summary);
    print_table((*s)->name, (*s)->options, -1);
  }
  printf("\nTARGETS  ([target] kind = NAME, then that target's keys)\n");
  for (const rtk_target_ops *const *t = rtk_target_all(); *t; t++) {
    printf("\n%-16s %s\n", (*t)->name, (*t)->summary);
    print_table("target", (*t)->options, -1);
  }
  printf("\nSCORE MODELS  ([score] model = NAME, then that model's keys; samplers never see which one runs,\n"
         "              metrics always use the exact target; rtk-mala needs a model with energy)\n");
  for (const rtk_score_ops *const *m = rtk_score_all(); *m; m++) {
    printf("\n%-16s %s\n", (*m)->name, (*m)->summary);
    print_table("score", (*m)->options, -1);
  }
  printf("\n");
  printf("  %-9s %-12s = %-22s %s {%s}\n", "score", "model", "exact", "score model used by every sampler",
         RTK_SCORE_MODEL_CHOICES);
  print_table("score", rtk_score_common_options, -1);
  printf("\nSTUDY KEYS\n");
  print_table("run", run_opts, -1);
  print_table("run", rtk_sampler_common_options, 0);
  printf("  %-9s %-12s = %-22s %s\n", "target", "kind", "mog-grid", "target family (see TARGETS)");
  print_table("time", rtk_sampler_common_options, 1);
  print_table("output", output_opts, -1);
  print_table("metrics", metrics_opts, -1);
  printf("  %-9s %-12s   %-22s %s\n", "sweep", "KEY", "= v1, v2, ...",
         "one run per combination; KEY is nfe, seed, dim, particles or section.key\n"
         "                                           (a sampler-section key only multiplies that sampler's runs)");
}
