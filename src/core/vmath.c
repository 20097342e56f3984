/* Deterministic vector math: dispatch between the SLEEF cinz versions.
 * See include/rtk/vmath.h and docs/design.md ("Vector math"). */
#include "rtk/vmath.h"

#include <math.h>
#include <sleef.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vmath_isa.h"

#if defined(__x86_64__) && defined(RTK_VM_X86)
#include <emmintrin.h>
#define HAVE_X86 1
#else
#define HAVE_X86 0
#endif

/* ---- the scalar version (one lane) ---- */
#define VM_SUFFIX purec
#define VM_W 1
#define VM_T double
#define VM_T2 Sleef_double_2
#define VM_LOAD(p) (*(p))
#define VM_STORE(p, v) (*(p) = (v))
#define VM_SET1(x) (x)
#define VM_MUL(a, b) ((a) * (b))
#define VM_SQRT sqrt
#define VM_EXP Sleef_cinz_expd1_u10purec
#define VM_LOG Sleef_cinz_logd1_u35purec
#define VM_SINCOSPI Sleef_cinz_sincospid1_u35purec
#include "vmath_impl.h"
#undef VM_SUFFIX
#undef VM_W
#undef VM_T
#undef VM_T2
#undef VM_LOAD
#undef VM_STORE
#undef VM_SET1
#undef VM_MUL
#undef VM_SQRT
#undef VM_EXP
#undef VM_LOG
#undef VM_SINCOSPI

#if HAVE_X86
/* ---- SSE2 (every x86-64 CPU has it) ---- */
#define VM_SUFFIX sse2
#define VM_W 2
#define VM_T __m128d
#define VM_T2 Sleef___m128d_2
#define VM_LOAD _mm_loadu_pd
#define VM_STORE _mm_storeu_pd
#define VM_SET1 _mm_set1_pd
#define VM_MUL _mm_mul_pd
#define VM_SQRT _mm_sqrt_pd
#define VM_EXP Sleef_cinz_expd2_u10sse2
#define VM_LOG Sleef_cinz_logd2_u35sse2
#define VM_SINCOSPI Sleef_cinz_sincospid2_u35sse2
#include "vmath_impl.h"
#endif

typedef struct {
  const char *name;
  void (*exp)(size_t, const double *, double *);
  void (*bm)(size_t, const double *, const double *, double *, double *);
} version;

static const version versions[RTK_VM_NISA] = {
    {"purec", rtk_vm_exp_purec, rtk_vm_box_muller_purec},
#if HAVE_X86
    {"sse2", rtk_vm_exp_sse2, rtk_vm_box_muller_sse2},
    {"avx", rtk_vm_exp_avx, rtk_vm_box_muller_avx},
    {"avx512f", rtk_vm_exp_avx512f, rtk_vm_box_muller_avx512f},
#else
    {"sse2", NULL, NULL},
    {"avx", NULL, NULL},
    {"avx512f", NULL, NULL},
#endif
};

const char *rtk_vm_isa_name(int isa) { return isa >= 0 && isa < RTK_VM_NISA ? versions[isa].name : "?"; }

int rtk_vm_isa_available(int isa) {
  if (isa < 0 || isa >= RTK_VM_NISA || !versions[isa].exp) return 0;
#if HAVE_X86
  __builtin_cpu_init();
  if (isa == RTK_VM_AVX) return __builtin_cpu_supports("avx");
  if (isa == RTK_VM_AVX512F) return __builtin_cpu_supports("avx512f");
#endif
  return 1;
}

static atomic_int chosen = -1; /* -1: not decided yet */

static int choose(void) {
  int best = RTK_VM_PUREC;
  for (int i = 0; i < RTK_VM_NISA; i++)
    if (rtk_vm_isa_available(i)) best = i;
  const char *env = getenv("RTK_VMATH_ISA");
  if (env && *env) {
    int want = -1;
    for (int i = 0; i < RTK_VM_NISA; i++)
      if (!strcmp(env, versions[i].name)) want = i;
    if (want >= 0 && rtk_vm_isa_available(want)) best = want;
    else
      fprintf(stderr, "rtkbench: RTK_VMATH_ISA=%s is not available here; using %s (results are the same)\n", env,
              versions[best].name);
  }
  return best;
}

int rtk_vm_isa(void) {
  int c = atomic_load_explicit(&chosen, memory_order_relaxed);
  if (c < 0) {
    c = choose(); /* racing threads compute the same value */
    atomic_store_explicit(&chosen, c, memory_order_relaxed);
  }
  return c;
}

int rtk_vm_set_isa(int isa) {
  if (isa == -1) {
    atomic_store(&chosen, choose());
    return 0;
  }
  if (!rtk_vm_isa_available(isa)) return -1;
  atomic_store(&chosen, isa);
  return 0;
}

void rtk_vm_exp(size_t n, const double *x, double *y) { versions[rtk_vm_isa()].exp(n, x, y); }

void rtk_vm_box_muller(size_t n, const double *u, const double *h, double *zc, double *zs) {
  versions[rtk_vm_isa()].bm(n, u, h, zc, zs);
}
