#include "rtk/rng.h"

#include <Random123/philox.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bm32.h"
#include "rng_isa.h"
#include "rtk/update.h"
#include "rtk/vmath.h"
#include "rtk/ziggurat.h"

#if defined(__x86_64__) && defined(RTK_VM_X86)
#define HAVE_X86 1
#else
#define HAVE_X86 0
#endif

/* 53 random bits to a double in the open interval (0, 1) */
static inline double u01(uint64_t x) { return ((double)(x >> 11) + 0.5) * 0x1.0p-53; }
/* the same bits to a double in (0, 2): exactly 2 u01(x) */
static inline double u02(uint64_t x) { return ((double)(x >> 11) + 0.5) * 0x1.0p-52; }

/* ---- the generator of the sampler streams ---- */
static atomic_int generator = RTK_RNG_PHILOX4X64;

void rtk_rng_set_generator(int gen) {
  atomic_store(&generator, gen == RTK_RNG_PHILOX4X32 ? RTK_RNG_PHILOX4X32 : RTK_RNG_PHILOX4X64);
}
int rtk_rng_generator(void) { return atomic_load_explicit(&generator, memory_order_relaxed); }
const char *rtk_rng_generator_name(int gen) { return gen == RTK_RNG_PHILOX4X32 ? "philox4x32" : "philox4x64"; }

/* the sampler streams' purposes: run.rng and run.normal apply to them only */
static int sampler_stream(uint64_t purpose) {
  switch (purpose) {
  case RTK_RNG_INIT:
  case RTK_RNG_STEP:
  case RTK_RNG_SEGINIT:
  case RTK_RNG_PROPOSE:
  case RTK_RNG_ACCEPT:
  case RTK_RNG_VELOCITY:
  case RTK_RNG_AUX:
    return 1;
  default: /* TARGET, SCORE, EXACT: the same under every run.rng and run.normal */
    return 0;
  }
}

int rtk_rng_generator_for(uint64_t purpose) { return sampler_stream(purpose) ? rtk_rng_generator() : RTK_RNG_PHILOX4X64; }

/* ---- the normal transform of the sampler streams (run.normal) ---- */
static atomic_int normal_kind = RTK_RNG_BOX_MULLER;

void rtk_rng_set_normal(int kind) {
  atomic_store(&normal_kind, kind == RTK_RNG_ZIGGURAT ? RTK_RNG_ZIGGURAT : RTK_RNG_BOX_MULLER);
}
int rtk_rng_normal(void) { return atomic_load_explicit(&normal_kind, memory_order_relaxed); }
const char *rtk_rng_normal_name(int kind) { return kind == RTK_RNG_ZIGGURAT ? "ziggurat" : "box-muller"; }

int rtk_rng_normal_for(uint64_t purpose) { return sampler_stream(purpose) ? rtk_rng_normal() : RTK_RNG_BOX_MULLER; }

/* ---- Philox4x64-10 ---- */
static inline philox4x64_ctr_t draw(uint64_t seed, uint64_t id, uint64_t c0, uint64_t c1, uint64_t purpose,
                                    uint64_t chunk) {
  philox4x64_ctr_t c = {{c0, c1, purpose, chunk}};
  philox4x64_key_t k = {{seed, id}};
  return philox4x64(c, k);
}

static void uniforms64(uint64_t seed, uint64_t id, uint64_t c0, uint64_t c1, uint64_t purpose, int n,
                       double *out) {
  for (int i = 0, chunk = 0; i < n; chunk++) {
    philox4x64_ctr_t r = draw(seed, id, c0, c1, purpose, (uint64_t)chunk);
    for (int j = 0; j < 4 && i < n; j++) out[i++] = u01(r.v[j]);
  }
}

/* Box-Muller, 4 normals per Philox call: words (w0, w1) of chunk c give
 * normals 4c and 4c+1, words (w2, w3) give 4c+2 and 4c+3, as
 *   r = sqrt(-2 ln u01(w_even)),  z_even = r cos(pi h),  z_odd = r sin(pi h),  h = u02(w_odd),
 * with the deterministic vector math of rtk/vmath.h.  Normal i depends only
 * on the key, the counter and i (not on n, nor on the vector width). */
enum { BLK = 64 }; /* normals per pass */

static void pairs_out(int m, const double *zc, const double *zs, double *o) {
  for (int p = 0; p < m / 2; p++) {
    o[2 * p] = zc[p];
    o[2 * p + 1] = zs[p];
  }
  if (m % 2) o[m - 1] = zc[(m + 1) / 2 - 1];
}

static void normals64(uint64_t seed, uint64_t id, uint64_t c0, uint64_t c1, uint64_t purpose, int n,
                      double *out) {
  double u[BLK / 2], h[BLK / 2], zc[BLK / 2], zs[BLK / 2];
  for (int i0 = 0; i0 < n; i0 += BLK) {
    const int m = n - i0 < BLK ? n - i0 : BLK, pairs = (m + 1) / 2;
    for (int c = 0; 2 * c < pairs; c++) {
      philox4x64_ctr_t r = draw(seed, id, c0, c1, purpose, (uint64_t)(i0 / 4 + c));
      u[2 * c] = u01(r.v[0]);
      h[2 * c] = u02(r.v[1]);
      u[2 * c + 1] = u01(r.v[2]);
      h[2 * c + 1] = u02(r.v[3]);
    }
    rtk_vm_box_muller((size_t)pairs, u, h, zc, zs);
    pairs_out(m, zc, zs, out + i0);
  }
}

/* ---- Philox4x32-10 (docs/design.md, "rng.h") ----
 * key     = (id mod 2^32, (seed ^ seed >> 32 ^ id >> 32) mod 2^32)
 * counter = ((c0 mod 2^28) | purpose << 28, c1 mod 2^32, (c1 >> 32 ^ c0 >> 28) mod 2^32, chunk)
 * Block c gives two 64-bit words e = w1·2^32 + w0 and o = w3·2^32 + w2: uniforms 2c and 2c+1 are u01(e),
 * u01(o); normals 2c and 2c+1 are Box-Muller on (u01(e), u02(o)) (u02 taken exactly) with own polynomials,
 * bm32_pair (bm32.h). */
void rtk_rng_p4x32_layout(uint64_t seed, uint64_t id, uint64_t c0, uint64_t c1, uint64_t purpose, uint32_t key[2],
                          uint32_t ctr[3]) {
  rtk_p4x32_key_ctr(seed, id, c0, c1, purpose, key, ctr); /* rtk/update.h: shared with the cuda backend */
}

static inline philox4x32_ctr_t draw32(const uint32_t key[2], const uint32_t ctr[3], uint32_t chunk) {
  philox4x32_ctr_t c = {{ctr[0], ctr[1], ctr[2], chunk}};
  philox4x32_key_t k = {{key[0], key[1]}};
  return philox4x32(c, k);
}

void rtk_p4x32_w_scalar(const uint32_t key[2], const uint32_t ctr[3], uint32_t chunk0, int n, uint32_t *out) {
  for (int c = 0; c < n; c++) {
    philox4x32_ctr_t r = draw32(key, ctr, chunk0 + (uint32_t)c);
    memcpy(out + 4 * c, r.v, sizeof r.v);
  }
}

void rtk_p4x32_n_scalar(const uint32_t key[2], const uint32_t ctr[3], uint32_t chunk0, int m, double *out) {
  for (int c = 0; 2 * c < m; c++) {
    philox4x32_ctr_t r = draw32(key, ctr, chunk0 + (uint32_t)c);
    double zc, zs;
    bm32_pair((uint64_t)r.v[1] << 32 | r.v[0], (uint64_t)r.v[3] << 32 | r.v[2], &zc, &zs);
    out[2 * c] = zc;
    if (2 * c + 1 < m) out[2 * c + 1] = zs;
  }
}

void rtk_p4x32_wi_scalar(const uint32_t key[2], const uint32_t ctr[3], uint32_t chunk0, int n, uint64_t *out) {
  for (int c = 0; c < n; c++) {
    philox4x32_ctr_t r = draw32(key, ctr, chunk0 + (uint32_t)c);
    out[2 * c] = (uint64_t)r.v[1] << 32 | r.v[0];
    out[2 * c + 1] = (uint64_t)r.v[3] << 32 | r.v[2];
  }
}

void rtk_p4x32_i_scalar(const uint32_t key[2], const uint32_t ctr[3], uint32_t chunk0, int m, double *out) {
  for (int c = 0; 2 * c < m; c++) {
    philox4x32_ctr_t r = draw32(key, ctr, chunk0 + (uint32_t)c);
    out[2 * c] = u01((uint64_t)r.v[1] << 32 | r.v[0]);
    if (2 * c + 1 < m) out[2 * c + 1] = u01((uint64_t)r.v[3] << 32 | r.v[2]);
  }
}

/* the ziggurat's fast path on n words (rng_isa.h): z[i] = the fast path's value where it accepts; returns the
 * number of rejected words and their positions in rej[] (ascending) */
int rtk_zig_fast_scalar(const uint64_t *w, int n, double *z, int *rej) {
  int nr = 0;
  for (int i = 0; i < n; i++)
    if (!rtk_zig_fast(w[i], z + i)) rej[nr++] = i;
  return nr;
}

typedef struct {
  void (*w)(const uint32_t *, const uint32_t *, uint32_t, int, uint32_t *);
  void (*n)(const uint32_t *, const uint32_t *, uint32_t, int, double *);
  void (*i)(const uint32_t *, const uint32_t *, uint32_t, int, double *);
  void (*wi)(const uint32_t *, const uint32_t *, uint32_t, int, uint64_t *);
  int (*zig)(const uint64_t *, int, double *, int *);
} p4x32_version;

static const p4x32_version v_scalar = {rtk_p4x32_w_scalar, rtk_p4x32_n_scalar, rtk_p4x32_i_scalar, rtk_p4x32_wi_scalar,
                                       rtk_zig_fast_scalar};
#if HAVE_X86
static const p4x32_version v_avx2 = {rtk_p4x32_w_avx2, rtk_p4x32_n_avx2, rtk_p4x32_i_avx2, rtk_p4x32_wi_avx2,
                                     rtk_zig_fast_avx2};
static const p4x32_version v_avx512 = {rtk_p4x32_w_avx512f, rtk_p4x32_n_avx512f, rtk_p4x32_i_avx512f, rtk_p4x32_wi_avx512f,
                                       rtk_zig_fast_avx512f};
#endif

/* the version for vector-math version `isa` (RTK_VMATH_ISA picks both): avx512f -> AVX-512F, avx -> AVX2
 * where the CPU has it, else the scalar Random123 code; NULL if `isa` is not available */
static const p4x32_version *p4x32_for(int isa) {
  if (!rtk_vm_isa_available(isa)) return NULL;
#if HAVE_X86
  if (isa == RTK_VM_AVX512F) return &v_avx512;
  if (isa == RTK_VM_AVX) {
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx2")) return &v_avx2;
  }
#endif
  return &v_scalar;
}

int rtk_rng_p4x32_words(int isa, const uint32_t key[2], const uint32_t ctr[3], uint32_t chunk0, int n,
                        uint32_t *out) {
  const p4x32_version *v = p4x32_for(isa);
  if (!v) return -1;
  v->w(key, ctr, chunk0, n, out);
  return 0;
}

/* blocks per SIMD call at least: shorter draws (a Metropolis uniform) go through the scalar code, which
 * gives the same bits */
enum { P4X32_MIN_SIMD = 4 };

/* p4x32_for per vector-math version, resolved once (CPUID is not asked again on every draw) */
static const p4x32_version *_Atomic resolved[RTK_VM_NISA];

static const p4x32_version *version_now(void) {
  const int isa = rtk_vm_isa();
  const p4x32_version *v = atomic_load_explicit(&resolved[isa], memory_order_relaxed);
  if (!v) { /* racing threads store the same pointer */
    v = p4x32_for(isa);
    atomic_store_explicit(&resolved[isa], v, memory_order_relaxed);
  }
  return v;
}

static void uniforms32(uint64_t seed, uint64_t id, uint64_t c0, uint64_t c1, uint64_t purpose, int n,
                       double *out) {
  uint32_t key[2], ctr[3];
  rtk_rng_p4x32_layout(seed, id, c0, c1, purpose, key, ctr);
  /* the whole stream in one call: the SIMD versions write the interleaved uniforms straight from their lanes */
  ((n + 1) / 2 >= P4X32_MIN_SIMD ? version_now() : &v_scalar)->i(key, ctr, 0, n, out);
}

static void normals32(uint64_t seed, uint64_t id, uint64_t c0, uint64_t c1, uint64_t purpose, int n,
                      double *out) {
  uint32_t key[2], ctr[3];
  rtk_rng_p4x32_layout(seed, id, c0, c1, purpose, key, ctr);
  /* the whole stream in one call: words, transform and the interleaved normals in the lanes (rng_p4x32_impl.h) */
  ((n + 1) / 2 >= P4X32_MIN_SIMD ? version_now() : &v_scalar)->n(key, ctr, 0, n, out);
}

/* ---- the ziggurat (run.normal = ziggurat; rtk/ziggurat.h, docs/design.md "Ziggurat normals") ----
 * Normal i of a stream is the transform of the stream's 64-bit word i, the word of uniform i (philox4x64:
 * word i % 4 of block i / 4; philox4x32: w1:w0 of block i / 2 for even i, w3:w2 for odd i).  A word the fast
 * path rejects goes to the slow path: attempt a = 0, 1, ... draws the same stream's block at chunk
 * RTK_ZIG_CHUNK(i, a) and passes its first two 64-bit words to rtk_zig_retry. */
typedef struct {
  int gen;
  uint64_t seed, id, c0, c1, purpose; /* philox4x64 */
  uint32_t key[2], ctr[3];            /* philox4x32 */
} zig_stream;

/* the first two 64-bit words of the stream's block at `chunk` */
static inline void zig_words2(const zig_stream *s, uint64_t chunk, uint64_t *a, uint64_t *b) {
  if (s->gen == RTK_RNG_PHILOX4X32) {
    philox4x32_ctr_t r = draw32(s->key, s->ctr, (uint32_t)chunk);
    *a = (uint64_t)r.v[1] << 32 | r.v[0];
    *b = (uint64_t)r.v[3] << 32 | r.v[2];
  } else {
    philox4x64_ctr_t r = draw(s->seed, s->id, s->c0, s->c1, s->purpose, chunk);
    *a = r.v[0];
    *b = r.v[1];
  }
}

/* normal i whose word w the fast path rejected */
static double zig_slow(const zig_stream *s, int i, uint64_t w) {
  for (int a = 0; a < RTK_ZIG_ATTEMPTS; a++) {
    uint64_t A, B;
    double z;
    zig_words2(s, RTK_ZIG_CHUNK(i, a), &A, &B);
    if (rtk_zig_retry(&w, A, B, &z)) return z;
  }
  return rtk_zig_signed(w, rtk_zig_abs(w)); /* probability below 1e-60 */
}

static void normals_zig(int gen, uint64_t seed, uint64_t id, uint64_t c0, uint64_t c1, uint64_t purpose, int n,
                        double *out) {
  if (n > RTK_ZIG_MAX_N) { /* the configuration refuses such dimensions (study_config.c) */
    fprintf(stderr, "rtkbench: internal error: %d ziggurat normals in one stream, more than %d\n", n, RTK_ZIG_MAX_N);
    abort();
  }
  zig_stream s = {gen, seed, id, c0, c1, purpose, {0, 0}, {0, 0, 0}};
  if (gen == RTK_RNG_PHILOX4X32) rtk_rng_p4x32_layout(seed, id, c0, c1, purpose, s.key, s.ctr);
  const p4x32_version *v = version_now();
  int rej[BLK];
  uint64_t w[BLK];
  if (gen == RTK_RNG_PHILOX4X32) { /* the words e, o of block c are words 2c, 2c + 1 (an odd m: one unused) */
    for (int i0 = 0; i0 < n; i0 += BLK) {
      const int m = n - i0 < BLK ? n - i0 : BLK, chunks = (m + 1) / 2;
      (chunks >= P4X32_MIN_SIMD ? v : &v_scalar)->wi(s.key, s.ctr, (uint32_t)(i0 / 2), chunks, w);
      const int nr = v->zig(w, m, out + i0, rej);
      for (int k = 0; k < nr; k++) out[i0 + rej[k]] = zig_slow(&s, i0 + rej[k], w[rej[k]]);
    }
    return;
  }
  for (int i0 = 0; i0 < n; i0 += BLK) {
    const int m = n - i0 < BLK ? n - i0 : BLK;
    for (int c = 0; 4 * c < m; c++) {
      philox4x64_ctr_t r = draw(seed, id, c0, c1, purpose, (uint64_t)i0 / 4 + (uint64_t)c);
      memcpy(w + 4 * c, r.v, sizeof r.v);
    }
    const int nr = v->zig(w, m, out + i0, rej);
    for (int k = 0; k < nr; k++) out[i0 + rej[k]] = zig_slow(&s, i0 + rej[k], w[rej[k]]);
  }
}

/* ---- the interface ---- */
void rtk_rng_uniforms_gen(int gen, uint64_t seed, uint64_t id, uint64_t c0, uint64_t c1, uint64_t purpose, int n,
                          double *out) {
  if (gen == RTK_RNG_PHILOX4X32) uniforms32(seed, id, c0, c1, purpose, n, out);
  else uniforms64(seed, id, c0, c1, purpose, n, out);
}

void rtk_rng_normals_gen(int gen, uint64_t seed, uint64_t id, uint64_t c0, uint64_t c1, uint64_t purpose, int n,
                         double *out) {
  if (gen == RTK_RNG_PHILOX4X32) normals32(seed, id, c0, c1, purpose, n, out);
  else normals64(seed, id, c0, c1, purpose, n, out);
}

void rtk_rng_normals_with(int gen, int kind, uint64_t seed, uint64_t id, uint64_t c0, uint64_t c1, uint64_t purpose,
                          int n, double *out) {
  if (kind == RTK_RNG_ZIGGURAT) normals_zig(gen, seed, id, c0, c1, purpose, n, out);
  else rtk_rng_normals_gen(gen, seed, id, c0, c1, purpose, n, out);
}

void rtk_rng_uniforms(uint64_t seed, uint64_t id, uint64_t c0, uint64_t c1, uint64_t purpose, int n,
                      double *out) {
  rtk_rng_uniforms_gen(rtk_rng_generator_for(purpose), seed, id, c0, c1, purpose, n, out);
}

double rtk_rng_uniform(uint64_t seed, uint64_t id, uint64_t c0, uint64_t c1, uint64_t purpose) {
  if (rtk_rng_generator_for(purpose) == RTK_RNG_PHILOX4X32) {
    double u;
    uniforms32(seed, id, c0, c1, purpose, 1, &u);
    return u;
  }
  return u01(draw(seed, id, c0, c1, purpose, 0).v[0]);
}

void rtk_rng_normals(uint64_t seed, uint64_t id, uint64_t c0, uint64_t c1, uint64_t purpose, int n,
                     double *out) {
  rtk_rng_normals_with(rtk_rng_generator_for(purpose), rtk_rng_normal_for(purpose), seed, id, c0, c1, purpose, n,
                       out);
}
