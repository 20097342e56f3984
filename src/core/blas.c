/* BLAS provenance and the OpenBLAS core fix (see include/rtk/blas.h). */
#define _GNU_SOURCE /* dladdr, RTLD_DEFAULT, RTLD_NOLOAD */
#include "rtk/blas.h"

#include <dlfcn.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

/* the library that serves cblas_dgemm for this process: a dlopen handle (or RTLD_DEFAULT) */
static void *blas_handle(char *path, size_t len) {
  if (path && len) path[0] = '\0';
  void *f = dlsym(RTLD_DEFAULT, "cblas_dgemm");
  Dl_info di;
  if (f && dladdr(f, &di) && di.dli_fname && di.dli_fname[0]) {
    if (path && len) snprintf(path, len, "%s", di.dli_fname);
    void *h = dlopen(di.dli_fname, RTLD_LAZY | RTLD_NOLOAD);
    if (h) return h;
  }
  return RTLD_DEFAULT;
}

typedef char *(*str_fn)(void);
typedef int (*int_fn)(void);
typedef char *(*arch_str_fn)(int);
typedef int64_t (*i64_fn)(void);

/* dlsym into a function pointer of the given type (object-to-function pointer copy) */
#define SYM(h, name, type, var) \
  type var = NULL;              \
  do {                          \
    void *p_ = dlsym(h, name);  \
    memcpy(&var, &p_, sizeof var); \
  } while (0)

static void cpu_isa(char *buf, size_t len) {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512dq") &&
      __builtin_cpu_supports("avx512vl"))
    snprintf(buf, len, "avx512");
  else if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
    snprintf(buf, len, "avx2");
  else
    snprintf(buf, len, "sse2");
#else
  snprintf(buf, len, "other");
#endif
}

/* the OpenBLAS core in use; RTK_BLAS_FAKE_CORENAME replaces it before the re-exec (tests) */
static int openblas_core(void *h, int fake, char *core, size_t len, int *dynamic) {
  SYM(h, "openblas_get_corename", str_fn, corename);
  SYM(h, "openblas_get_config", str_fn, config);
  if (!corename) return 0;
  const char *c = corename(), *f = fake ? getenv("RTK_BLAS_FAKE_CORENAME") : NULL;
  snprintf(core, len, "%s", f && f[0] ? f : c ? c : "");
  if (dynamic) *dynamic = config && config() && strstr(config(), "DYNAMIC_ARCH") != NULL;
  return 1;
}

void rtk_blas_query(rtk_blas_info *b) {
  memset(b, 0, sizeof *b);
  b->threads = -1;
  cpu_isa(b->cpu, sizeof b->cpu);
  void *h = blas_handle(b->path, sizeof b->path);
  SYM(h, "openblas_get_config", str_fn, ob_config);
  SYM(h, "openblas_get_num_threads", int_fn, ob_threads);
  SYM(h, "bli_info_get_version_str", str_fn, bli_version);
  SYM(h, "bli_arch_query_id", int_fn, bli_arch);
  SYM(h, "bli_arch_string", arch_str_fn, bli_arch_str);
  SYM(h, "bli_thread_get_num_threads", i64_fn, bli_threads);
  SYM(h, "bli_info_get_enable_threading", int_fn, bli_threading);
  if (ob_config) {
    snprintf(b->library, sizeof b->library, "OpenBLAS");
    const char *v = ob_config();
    snprintf(b->version, sizeof b->version, "%s", v ? v : "");
    openblas_core(h, 0, b->core, sizeof b->core, NULL);
    if (ob_threads) b->threads = ob_threads();
  } else if (bli_version) {
    snprintf(b->library, sizeof b->library, "BLIS");
    const char *v = bli_version();
    snprintf(b->version, sizeof b->version, "BLIS %s", v ? v : "");
    if (bli_arch && bli_arch_str) {
      const char *a = bli_arch_str(bli_arch());
      snprintf(b->core, sizeof b->core, "%s", a ? a : "");
    }
    if (bli_threads) b->threads = (int)bli_threads();
    /* a serial BLIS, or a threaded one with no BLIS_NUM_THREADS/OMP_NUM_THREADS set (-1): one thread */
    if (b->threads < 1 && (bli_threading || bli_threads)) b->threads = 1;
  } else {
    snprintf(b->library, sizeof b->library, "unknown");
  }
  if (h != RTLD_DEFAULT) dlclose(h);
  const char *fix = getenv("RTK_BLAS_REEXEC");
  if (fix && fix[0]) snprintf(b->autofix, sizeof b->autofix, "OPENBLAS_CORETYPE=%s", fix);
}

void rtk_blas_line(const rtk_blas_info *b, char *buf, int len) {
  char thr[32];
  if (b->threads >= 0) snprintf(thr, sizeof thr, "%d thread%s", b->threads, b->threads == 1 ? "" : "s");
  else snprintf(thr, sizeof thr, "threads unknown");
  snprintf(buf, (size_t)len, "%s, core %s, %s, CPU %s%s%s", b->version[0] ? b->version : b->library,
           b->core[0] ? b->core : "?", thr, b->cpu, b->autofix[0] ? ", autofix " : "", b->autofix);
}

const char *rtk_blas_better_core(const char *core, const char *cpu) {
  /* OpenBLAS cores with AVX2+FMA kernels (or better) */
  static const char *const good[] = {"Haswell", "Zen", "Excavator", "SkylakeX", "Cooperlake", "SapphireRapids", NULL};
  const int avx512 = !strcmp(cpu, "avx512"), avx2 = avx512 || !strcmp(cpu, "avx2");
  if (!avx2 || !core || !core[0]) return NULL;
  for (int i = 0; good[i]; i++)
    if (!strcasecmp(core, good[i])) return NULL;
  return avx512 ? "SkylakeX" : "Haswell";
}

int rtk_blas_launch_rank0(void) {
  static const char *const vars[] = {"OMPI_COMM_WORLD_RANK", "PMIX_RANK", "PMI_RANK", NULL};
  for (int i = 0; vars[i]; i++) {
    const char *v = getenv(vars[i]);
    if (v && v[0]) return atoi(v) == 0;
  }
  const char *v = getenv("SLURM_PROCID"); /* srun without an MPI launcher variable */
  return !(v && v[0]) || atoi(v) == 0;
}

void rtk_blas_autofix(char **argv, int verbose) {
  const char *off = getenv("RTK_BLAS_AUTOFIX");
  const char *done = getenv("RTK_BLAS_REEXEC");
  char cpu[32], core[64] = "";
  cpu_isa(cpu, sizeof cpu);
  void *h = blas_handle(NULL, 0);
  int dynamic = 0;
  const int openblas = openblas_core(h, !(done && done[0]), core, sizeof core, &dynamic);
  if (h != RTLD_DEFAULT) dlclose(h);
  if (!openblas) return;
  if (done && done[0]) { /* the re-executed process: say once what happened, and whether it worked */
    char want[64];
    snprintf(want, sizeof want, "%s", done);
    want[strcspn(want, " ")] = '\0'; /* "SkylakeX (was Prescott)" -> "SkylakeX" */
    if (verbose)
      fprintf(stderr, "rtkbench: OpenBLAS did not pick AVX2/AVX-512 kernels on this %s CPU; restarted with "
              "OPENBLAS_CORETYPE=%s: it now runs its %s kernels%s (RTK_BLAS_AUTOFIX=0 turns this off)\n", cpu, done,
              core, !strcasecmp(want, core) ? "" : " (NOT the requested ones)");
    return;
  }
  const char *better = rtk_blas_better_core(core, cpu);
  if (!better) return;
  if ((off && !strcmp(off, "0")) || !dynamic) {
    if (verbose)
      fprintf(stderr, "rtkbench: warning: OpenBLAS runs its %s kernels on this %s CPU (slow DGEMM); %s\n", core, cpu,
              !dynamic ? "this OpenBLAS has no DYNAMIC_ARCH, rebuild it for this CPU"
                       : "RTK_BLAS_AUTOFIX=0 leaves them (OPENBLAS_CORETYPE=... picks others)");
    return;
  }
  char mark[160], old[64] = "";
  const char *o = getenv("OPENBLAS_CORETYPE");
  if (o) snprintf(old, sizeof old, "%s", o);
  snprintf(mark, sizeof mark, "%s (was %s)", better, core);
  if (setenv("OPENBLAS_CORETYPE", better, 1) || setenv("RTK_BLAS_REEXEC", mark, 1)) return;
  fflush(stdout);
  fflush(stderr);
  execv("/proc/self/exe", argv);
  const int e = errno; /* still here: the exec failed; run on as we are */
  unsetenv("RTK_BLAS_REEXEC");
  if (o) setenv("OPENBLAS_CORETYPE", old, 1);
  else unsetenv("OPENBLAS_CORETYPE");
  if (verbose)
    fprintf(stderr, "rtkbench: warning: OpenBLAS runs its %s kernels on this %s CPU (slow DGEMM) and the restart "
            "with OPENBLAS_CORETYPE=%s failed (%s); set it yourself\n", core, cpu, better, strerror(e));
}
