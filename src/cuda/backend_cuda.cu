/* The cuda backend (include/rtk/backend.h; docs/design.md, "Backends").
 *
 * One MPI rank drives one GPU and runs its whole particle range at once:
 * the particles, Philox random numbers (Random123 in device code, the same
 * keys and counters as the cpu backend), the mixture score kernel (two cuBLAS
 * GEMMs per evaluation plus fused log-sum-exp and score-assembly kernels), the
 * sampler updates, the Metropolis tests and the boundary histograms all stay
 * on the device.  Only the final particles, the integer counters and the
 * histogram counts come back; the driver's reductions and HDF5 are unchanged.
 *
 * Rank-count independence (bitwise): every GEMM is issued on G = RTK_CUDA_ROWS
 * rows whose first row is a global particle id that is a multiple of G (the
 * rank's range is padded with zero rows on both sides), so a particle meets
 * the same GEMM shape at the same row offset whatever the number of ranks;
 * every other kernel is per particle, with in-particle reductions in a fixed
 * butterfly order; counters are integer atomics.
 *
 * The per-element updates are the shared definitions of rtk/update.h. */
#include <cublas_v2.h>
#include <cuda_runtime.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <type_traits>

#include <Random123/philox.h>

extern "C" {
#include "rtk/backend.h"
#include "rtk/error.h"
#include "rtk/grid.h"
#include "rtk/mixture.h"
#include "rtk/rng.h"
}
#include "rtk/update.h"
#include "rtk/ziggurat.h"

extern "C" const int rtk_have_cuda = 1;

/* rows per cuBLAS call; global ids of a call's first row are multiples of it */
#define RTK_CUDA_ROWS 16384

#define CU(call)                                                                                             \
  do {                                                                                                       \
    cudaError_t e_ = (call);                                                                                 \
    if (e_ != cudaSuccess) return RTK_ERR(RTK_ERR_RUNTIME, "CUDA: %s: %s", #call, cudaGetErrorString(e_)); \
  } while (0)
#define CB(call)                                                                                   \
  do {                                                                                             \
    cublasStatus_t s_ = (call);                                                                    \
    if (s_ != CUBLAS_STATUS_SUCCESS) return RTK_ERR(RTK_ERR_RUNTIME, "cuBLAS: %s: status %d", #call, (int)s_); \
  } while (0)
#define LAUNCHED() CU(cudaGetLastError())

static int g_dev = -1;
static cublasHandle_t g_blas, g_blas_cap; /* the second: for graph captures */
static cudaStream_t g_stream;
static char g_desc[512];
static int g_sms = 132; /* multiprocessors of the attached device */
static void *g_ws;      /* g_blas_cap's workspace */
#define RTK_CUDA_WS ((size_t)32 << 20)
static int g_zig; /* run.normal = ziggurat for this run (run(), from rtk_rng_normal()) */

/* f(std::integral_constant<int, NZ>) with this run's transform NZ (1: ziggurat); ZLAUNCH(launch) compiles
 * `launch`, a kernel launch that names the template argument NZ, for both transforms and runs this run's */
template <class F> static void with_zig(F f) {
  if (g_zig) f(std::integral_constant<int, 1>());
  else f(std::integral_constant<int, 0>());
}
#define ZLAUNCH(...)                            \
  with_zig([&](auto z_) {                       \
    constexpr int NZ = decltype(z_)::value;     \
    __VA_ARGS__;                                \
  })

/* ------------------------------------------------------------------ device helpers */

/* Philox4x64-10 with rng.c's key (seed, id) and counter (c0, c1, purpose, chunk) */
__device__ static inline philox4x64_ctr_t draw(uint64_t seed, uint64_t id, uint64_t c0, uint64_t c1, uint64_t purpose,
                                               uint64_t chunk) {
  philox4x64_ctr_t c = {{c0, c1, purpose, chunk}};
  philox4x64_key_t k = {{seed, id}};
  return philox4x64(c, k);
}

/* run.rng = philox4x32 for this run (set by run() from rtk_rng_generator()): the sampler streams' purposes draw
 * Philox4x32 (rtk/rng.h, rtk_rng_generator_for); EXACT, TARGET and SCORE stay Philox4x64 */
__constant__ int c_rng32;
__device__ static inline int rng32(uint64_t purpose) {
  return c_rng32 && purpose != RTK_RNG_EXACT && purpose != RTK_RNG_TARGET && purpose != RTK_RNG_SCORE;
}
/* Philox4x32-10 block `chunk` of the stream, as 64-bit words w1:w0 and w3:w2 (rtk_p4x32_key_ctr) */
__device__ static inline void draw32(uint64_t seed, uint64_t id, uint64_t c0, uint64_t c1, uint64_t purpose,
                                     uint32_t chunk, uint64_t w[2]) {
  uint32_t key[2], ctr[3];
  rtk_p4x32_key_ctr(seed, id, c0, c1, purpose, key, ctr);
  philox4x32_ctr_t c = {{ctr[0], ctr[1], ctr[2], chunk}};
  philox4x32_key_t k = {{key[0], key[1]}};
  philox4x32_ctr_t r = philox4x32(c, k);
  w[0] = (uint64_t)r.v[1] << 32 | r.v[0];
  w[1] = (uint64_t)r.v[3] << 32 | r.v[2];
}

/* run.normal = ziggurat (rtk/rng.h, rtk_rng_normal_for): the sampler streams' normals are the ziggurat of one
 * 64-bit word each; EXACT, TARGET and SCORE stay Box-Muller.  The kernels that draw normals are compiled for each
 * transform (template parameter NZ; with_zig picks the one of this run at launch): a rejected word's slow path
 * (Philox, exp or log) needs registers that a run-time flag would charge to the Box-Muller kernels too (ptxas:
 * k_propose 34 -> 110, k_init 34 -> 108 registers). */
__device__ static inline int zig_stream(uint64_t purpose) {
  return purpose != RTK_RNG_EXACT && purpose != RTK_RNG_TARGET && purpose != RTK_RNG_SCORE;
}

/* Normal i of a stream from its word w (rtk/ziggurat.h; the cpu's layout, docs/design.md "Ziggurat normals"): the
 * fast path, else attempt a = 0, 1, .. on the first two 64-bit words of the stream's block at chunk
 * RTK_ZIG_CHUNK(i, a) (Philox4x32: the 32-bit chunk word).  The rejections (~0.7 % of the words) diverge from
 * their warp for a Philox block and one exp or two logs each. */
__device__ static inline double zig_slow(uint64_t seed, uint64_t id, uint64_t c0, uint64_t c1, uint64_t purpose,
                                        int p32, int64_t i, uint64_t w) {
  double z;
#pragma unroll 1
  for (int a = 0; a < RTK_ZIG_ATTEMPTS; a++) {
    const uint64_t chunk = RTK_ZIG_CHUNK(i, a);
    uint64_t ab[2];
    if (p32) {
      draw32(seed, id, c0, c1, purpose, (uint32_t)chunk, ab);
    } else {
      const philox4x64_ctr_t r = draw(seed, id, c0, c1, purpose, chunk);
      ab[0] = r.v[0];
      ab[1] = r.v[1];
    }
    if (rtk_zig_retry(&w, ab[0], ab[1], &z)) return z;
  }
  return rtk_zig_signed(w, rtk_zig_abs(w));
}

/* normals 4 ch .. 4 ch + 3 of a stream (rtk_rng_normals' layout; philox4x32: blocks 2 ch and 2 ch + 1): Box-Muller
 * on the pairs of 64-bit words, or (Z = 1: run.normal = ziggurat, sampler streams) the ziggurat of each word */
template <int Z>
__device__ static inline void normals4(uint64_t seed, uint64_t id, uint64_t c0, uint64_t c1, uint64_t purpose, int ch,
                                       double z[4]) {
  if constexpr (Z != 0) {
    if (zig_stream(purpose)) {
      const int p32 = rng32(purpose);
      uint64_t w[4];
      if (p32) {
        draw32(seed, id, c0, c1, purpose, (uint32_t)(2 * ch), w);
        draw32(seed, id, c0, c1, purpose, (uint32_t)(2 * ch + 1), w + 2);
      } else {
        const philox4x64_ctr_t r = draw(seed, id, c0, c1, purpose, (uint64_t)ch);
        for (int u = 0; u < 4; u++) w[u] = r.v[u];
      }
      for (int u = 0; u < 4; u++)
        if (!rtk_zig_fast(w[u], &z[u])) z[u] = zig_slow(seed, id, c0, c1, purpose, p32, 4 * (int64_t)ch + u, w[u]);
      return;
    }
  }
  if (rng32(purpose)) {
    uint64_t w[2];
    draw32(seed, id, c0, c1, purpose, (uint32_t)(2 * ch), w);
    rtk_box_muller(w[0], w[1], &z[0], &z[1]);
    draw32(seed, id, c0, c1, purpose, (uint32_t)(2 * ch + 1), w);
    rtk_box_muller(w[0], w[1], &z[2], &z[3]);
    return;
  }
  philox4x64_ctr_t r = draw(seed, id, c0, c1, purpose, (uint64_t)ch);
  rtk_box_muller(r.v[0], r.v[1], &z[0], &z[1]);
  rtk_box_muller(r.v[2], r.v[3], &z[2], &z[3]);
}

/* the first uniform of a stream (rtk_rng_uniform) */
__device__ static inline double uniform1(uint64_t seed, uint64_t id, uint64_t c0, uint64_t c1, uint64_t purpose) {
  if (rng32(purpose)) {
    uint64_t w[2];
    draw32(seed, id, c0, c1, purpose, 0, w);
    return rtk_u01(w[0]);
  }
  return rtk_u01(draw(seed, id, c0, c1, purpose, 0).v[0]);
}

template <class T> __device__ static inline T group_sum(T v, int tpp) {
  for (int o = tpp / 2; o > 0; o /= 2) v += __shfl_xor_sync(0xffffffffu, v, o);
  return v;
}

/* ------------------------------------------------------------------ kernels */
/* Per-coordinate kernels: thread t handles chunk ch = t % nch (coordinates 4ch .. 4ch+3) of real particle
 * i = t / nch, stored at row off + i; its global id is p0 + i. */
#define PER_CHUNK_PROLOGUE                                         \
  const int64_t t = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; \
  if (t >= n * nch) return;                                        \
  const int64_t i = t / nch;                                       \
  const int ch = (int)(t % nch);                                   \
  const size_t row = off + (size_t)i;                              \
  const uint64_t id = (uint64_t)(p0 + i);                          \
  (void)id;

/* x_T ~ N(0, I) (rtk_draw_initial), and Y = [x^2, x] */
template <class T, int NZ>
__global__ void k_init(int64_t n, int d, int nch, size_t off, int64_t p0, uint64_t seed, T *X, T *Y) {
  PER_CHUNK_PROLOGUE
  double z[4];
  normals4<NZ>(seed, id, 0, 0, RTK_RNG_INIT, ch, z);
  for (int u = 0; u < 4; u++) {
    const int j = 4 * ch + u;
    if (j >= d) break;
    const T x = (T)z[u];
    X[row * d + j] = x;
    Y[row * 2 * d + j] = x * x;
    Y[row * 2 * d + d + j] = x;
  }
}

/* exact samples of p_t (rtk_mixture_sample) */
template <class T>
__global__ void k_exact(int64_t n, int d, int nch, size_t off, int64_t p0, uint64_t seed, int K, const double *w,
                        const double *mu, const double *var, double a, double s2, T *X) {
  PER_CHUNK_PROLOGUE
  const double uu = rtk_u01(draw(seed, id, 0, 0, RTK_RNG_EXACT, 0).v[0]);
  int k = 0;
  double cum = w[0];
  while (k < K - 1 && uu >= cum) cum += w[++k];
  double z[4];
  normals4<0>(seed, id, 0, 1, RTK_RNG_EXACT, ch, z);
  for (int u = 0; u < 4; u++) {
    const int j = 4 * ch + u;
    if (j >= d) break;
    const size_t kj = (size_t)k * d + j;
    X[row * d + j] = (T)(a * mu[kj] + sqrt(a * a * var[kj] + s2) * z[u]);
  }
}

/* row-wise log-sum-exp of the logits L + c: L <- responsibilities, logp <- log p_t(x) (one warp per row) */
template <class T> __global__ void k_lse(int64_t n, int K, size_t off, T *L, const T *c, T *logp) {
  const int64_t w = ((int64_t)blockIdx.x * blockDim.x + threadIdx.x) >> 5;
  const int lane = threadIdx.x & 31;
  if (w >= n) return; /* the whole warp */
  T *l = L + (off + (size_t)w) * K;
  T mx = -INFINITY;
  for (int k = lane; k < K; k += 32) {
    T v = l[k] + c[k];
    l[k] = v;
    mx = v > mx ? v : mx;
  }
  for (int o = 16; o > 0; o /= 2) {
    T y = __shfl_xor_sync(0xffffffffu, mx, o);
    mx = y > mx ? y : mx;
  }
  T s = 0;
  for (int k = lane; k < K; k += 32) {
    T a = l[k] - mx;
    T e = a < -40 ? (T)0 : exp(a); /* as the cpu kernel: e^{-40} is below the sum's rounding */
    l[k] = e;
    s += e;
  }
  s = group_sum(s, 32);
  const T inv = 1 / s;
  for (int k = lane; k < K; k += 32) l[k] *= inv;
  if (logp && lane == 0) logp[off + w] = mx + log(s);
}

/* the same with the row in registers (K <= 32 V): one read and one write of the logits */
template <class T, int V> __global__ void k_lse_reg(int64_t n, int K, size_t off, T *L, const T *c, T *logp) {
  const int64_t w = ((int64_t)blockIdx.x * blockDim.x + threadIdx.x) >> 5;
  const int lane = threadIdx.x & 31;
  if (w >= n) return; /* the whole warp */
  T *l = L + (off + (size_t)w) * K;
  T v[V], mx = -INFINITY;
#pragma unroll
  for (int u = 0; u < V; u++) {
    const int k = lane + 32 * u;
    v[u] = k < K ? l[k] + c[k] : (T)-INFINITY;
    mx = v[u] > mx ? v[u] : mx;
  }
  for (int o = 16; o > 0; o /= 2) {
    T y = __shfl_xor_sync(0xffffffffu, mx, o);
    mx = y > mx ? y : mx;
  }
  T s = 0;
#pragma unroll
  for (int u = 0; u < V; u++) {
    const T a = v[u] - mx;
    v[u] = a < -40 ? (T)0 : exp(a);
    s += v[u];
  }
  s = group_sum(s, 32);
  const T inv = 1 / s;
#pragma unroll
  for (int u = 0; u < V; u++) {
    const int k = lane + 32 * u;
    if (k < K) l[k] = v[u] * inv;
  }
  if (logp && lane == 0) logp[off + w] = mx + log(s);
}

/* score = P1 - x o P2 with P = R [MA | A] */
template <class T>
__global__ void k_score(int64_t n, int d, int nch, size_t off, int64_t p0, const T *X, const T *P, T *S) {
  PER_CHUNK_PROLOGUE
  for (int u = 0; u < 4; u++) {
    const int j = 4 * ch + u;
    if (j >= d) break;
    const T x = X[row * d + j];
    S[row * d + j] = P[row * 2 * d + j] - x * P[row * 2 * d + d + j];
  }
}

/* one ddpm step (rtk_ddpm_update) with the score assembled from P; writes Y for the next evaluation */
template <class T, int NZ>
__global__ void k_ddpm(int64_t n, int d, int nch, size_t off, int64_t p0, uint64_t seed, int k, rtk_ddpm_coef cf,
                       T *X, const T *P, T *Y, const int *dk, const rtk_ddpm_coef *dcf) {
  PER_CHUNK_PROLOGUE
  if (dk) { /* a replayed step graph: step and coefficients from the device */
    k = *dk;
    cf = dcf[k];
  }
  double z[4];
  normals4<NZ>(seed, id, (uint64_t)k, 0, RTK_RNG_STEP, ch, z);
  for (int u = 0; u < 4; u++) {
    const int j = 4 * ch + u;
    if (j >= d) break;
    const T x = X[row * d + j], s = P[row * 2 * d + j] - x * P[row * 2 * d + d + j];
    const T xn = (T)rtk_ddpm_update(&cf, x, s, z[u]);
    X[row * d + j] = xn;
    Y[row * 2 * d + j] = xn * xn;
    Y[row * 2 * d + d + j] = xn;
  }
}

/* One whole ddpm step per particle, without cuBLAS (small K and d: chosen by fused_ok): the logits, their
 * log-sum-exp and the score are formed in registers from the time's coefficients in shared memory
 * (C2 = [MA | A] per component, c), then rtk_ddpm_update with the same Philox normals as k_ddpm.  One thread
 * per particle; the [n][K] logits and [n][2d] P never go to memory.  Two passes over the components (the max,
 * then the weights), so a weight below e^{-40} of the largest is dropped as in k_lse and the cpu kernel. */
template <class T, int DM, int NZ>
__global__ void k_ddpm_fused(int64_t n, int d, int K, size_t off, int64_t p0, uint64_t seed, int k, rtk_ddpm_coef cf,
                             const T *C2, const T *c, T *X) {
  extern __shared__ unsigned char sh_raw[];
  T *sC = (T *)sh_raw, *sc = sC + (size_t)K * 2 * d;
  for (int e = threadIdx.x; e < K * 2 * d; e += blockDim.x) sC[e] = C2[e];
  for (int e = threadIdx.x; e < K; e += blockDim.x) sc[e] = c[e];
  __syncthreads();
  const int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
  if (i >= n) return;
  const size_t row = off + (size_t)i;
  T x[DM], a1[DM], a2[DM];
#pragma unroll
  for (int j = 0; j < DM; j++) {
    x[j] = j < d ? X[row * d + j] : (T)0;
    a1[j] = a2[j] = 0;
  }
  T mx = -INFINITY;
  for (int q = 0; q < K; q++) {
    const T *m = sC + (size_t)q * 2 * d;
    T l = sc[q];
#pragma unroll
    for (int j = 0; j < DM; j++)
      if (j < d) l += x[j] * (m[j] - (T)0.5 * m[d + j] * x[j]);
    mx = l > mx ? l : mx;
  }
  T s = 0;
  for (int q = 0; q < K; q++) {
    const T *m = sC + (size_t)q * 2 * d;
    T l = sc[q];
#pragma unroll
    for (int j = 0; j < DM; j++)
      if (j < d) l += x[j] * (m[j] - (T)0.5 * m[d + j] * x[j]);
    const T a = l - mx, e = a < -40 ? (T)0 : exp(a);
    s += e;
#pragma unroll
    for (int j = 0; j < DM; j++)
      if (j < d) {
        a1[j] += e * m[j];
        a2[j] += e * m[d + j];
      }
  }
  const T inv = 1 / s;
  const uint64_t id = (uint64_t)(p0 + i);
#pragma unroll
  for (int ch = 0; ch < DM / 4; ch++)
    if (4 * ch < d) {
      double z[4];
      normals4<NZ>(seed, id, (uint64_t)k, 0, RTK_RNG_STEP, ch, z);
#pragma unroll
      for (int u = 0; u < 4; u++) {
        const int j = 4 * ch + u;
        if (j < d) {
          const T sj = a1[j] * inv - x[j] * (a2[j] * inv);
          X[row * d + j] = (T)rtk_ddpm_update(&cf, x[j], sj, z[u]);
        }
      }
    }
}

/* RTK segment start z_0 from x' (sampler_rtk.c init_segment) */
template <class T, int NZ>
__global__ void k_seg_init(int64_t n, int d, int nch, size_t off, int64_t p0, uint64_t seed, int k, int init,
                           int have_score, double eh, double b, double sd, const T *X, const T *S, T *Z, T *Y) {
  PER_CHUNK_PROLOGUE
  double z[4] = {0, 0, 0, 0};
  if (init != RTK_INIT_MEAN) normals4<NZ>(seed, id, (uint64_t)k, 0, RTK_RNG_SEGINIT, ch, z);
  for (int u = 0; u < 4; u++) {
    const int j = 4 * ch + u;
    if (j >= d) break;
    const double x = X[row * d + j];
    double v;
    if (init == RTK_INIT_MEAN)
      v = eh * x;
    else if (init == RTK_INIT_GAUSSIAN)
      v = eh * x + sd * z[u];
    else
      v = eh * x + (have_score ? b * (double)S[row * d + j] : 0) + sd * z[u];
    const T zz = (T)v;
    Z[row * d + j] = zz;
    Y[row * 2 * d + j] = zz * zz;
    Y[row * 2 * d + d + j] = zz;
  }
}

/* ---- MALA inner steps (rtk-mala, rtk-mala-score; sampler_rtk.c mala_steps) ----
 * The proposal, the proposal-density terms, log alpha, the accept test and the score-only quadrature are
 * rtk/update.h's functions (the cpu calls the same ones).  Per-particle sums are accumulated in double in
 * both precisions (fp32 keeps particles, scores and GEMMs in float). */
struct mala_args {
  int64_t n, p0;
  size_t off;
  uint64_t seed;
  int d, nch, tpp, k, m;
  double e, q, tau;    /* segment geometry e = e^{-h}, q = 1 - e^{-2h}; the step (unless per particle) */
  double r2;           /* projection radius squared (0: off) */
  int score_only, rule; /* rtk-mala-score and its quadrature rule (enum rtk_quad_kind) */
  int nwarm;           /* step_mode = adaptive: warm-up steps of this segment (dual averaging) */
  double target, mu;   /* dual averaging: target acceptance, log(10 tau_0) */
};
#define MALA_UNPACK(a)                                         \
  const int64_t n = (a).n, p0 = (a).p0;                        \
  const size_t off = (a).off;                                  \
  const int d = (a).d, nch = (a).nch, tpp = (a).tpp;           \
  (void)p0;                                                    \
  (void)tpp;

/* MALA proposal zp = z + rtk_mala_step(grad g(z), tau, sqrt(2 tau), xi); writes Y for its evaluation.
 * taus: per-particle steps (adaptive) or NULL (a.tau) */
template <class T, int NZ> __global__ void k_propose(mala_args a, const double *taus, const T *Z, const T *G, T *Zp, T *Y) {
  MALA_UNPACK(a)
  PER_CHUNK_PROLOGUE
  double z[4];
  normals4<NZ>(a.seed, id, (uint64_t)a.k, (uint64_t)a.m + 1, RTK_RNG_PROPOSE, ch, z);
  const double tau = taus ? taus[row] : a.tau, sq = sqrt(2 * tau);
  for (int u = 0; u < 4; u++) {
    const int j = 4 * ch + u;
    if (j >= d) break;
    const T zp = (T)((double)Z[row * d + j] + rtk_mala_step((double)G[row * d + j], tau, sq, z[u]));
    Zp[row * d + j] = zp;
    Y[row * 2 * d + j] = zp * zp;
    Y[row * 2 * d + d + j] = zp;
  }
}

/* Per-particle group kernels: tpp threads (a power of two <= 32) share particle i = t / tpp; lane l takes
 * chunks l, l + tpp, ...; sums meet by butterfly shuffles (a fixed order).  Every thread of a warp runs
 * the shuffles, also past n. */
#define GROUP_PROLOGUE                                                    \
  const int64_t t = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;       \
  const int64_t i = t / tpp;                                              \
  const int lane = (int)(t % tpp);                                        \
  const bool active = i < n;                                              \
  const size_t row = off + (size_t)(active ? i : 0);

/* the same proposal with the projection radius: pass[row] = |zp - z|^2 <= r2, passes counted in *npass
 * (a rejected proposal costs no NFE: sampler_rtk.c's accounting) */
template <class T, int NZ>
__global__ void k_propose_r(mala_args a, const double *taus, const T *Z, const T *G, T *Zp, T *Y, unsigned char *pass,
                            unsigned long long *npass) {
  MALA_UNPACK(a)
  GROUP_PROLOGUE
  double dist = 0;
  if (active) {
    const double tau = taus ? taus[row] : a.tau, sq = sqrt(2 * tau);
    for (int ch = lane; ch < nch; ch += tpp) {
      double xi[4];
      normals4<NZ>(a.seed, (uint64_t)(p0 + i), (uint64_t)a.k, (uint64_t)a.m + 1, RTK_RNG_PROPOSE, ch, xi);
      for (int u = 0; u < 4; u++) {
        const int j = 4 * ch + u;
        if (j >= d) break;
        const double step = rtk_mala_step((double)G[row * d + j], tau, sq, xi[u]);
        const T zp = (T)((double)Z[row * d + j] + step);
        dist += step * step;
        Zp[row * d + j] = zp;
        Y[row * 2 * d + j] = zp * zp;
        Y[row * 2 * d + d + j] = zp;
      }
    }
  }
  dist = group_sum(dist, tpp);
  const bool ok = active && dist <= a.r2;
  if (active && lane == 0) pass[row] = ok;
  const unsigned bal = __ballot_sync(0xffffffffu, ok && lane == 0);
  if ((threadIdx.x & 31) == 0 && bal) atomicAdd(npass, (unsigned long long)__popc(bal));
}

/* segment gradient and energy at the chain's start (sampler_rtk.c eval_segment):
 * s = P1 - z P2, r = x' - e z, grad = -s - e r / q, g = -log p + |r|^2 / (2q) (g = NULL: score only) */
template <class T>
__global__ void k_seg_eval(int64_t n, int d, int nch, int tpp, size_t off, double e, double q, const T *X, const T *Z,
                           const T *P, const T *lp, T *S, T *G, T *g) {
  GROUP_PROLOGUE
  double quad = 0;
  if (active)
    for (int ch = lane; ch < nch; ch += tpp)
      for (int u = 0; u < 4; u++) {
        const int j = 4 * ch + u;
        if (j >= d) break;
        const T z = Z[row * d + j], s = P[row * 2 * d + j] - z * P[row * 2 * d + d + j];
        const T r = RTK_SEG_RESID(X[row * d + j], z, (T)e);
        quad += (double)r * r;
        S[row * d + j] = s;
        G[row * d + j] = RTK_SEG_GRAD(s, r, (T)e, (T)q);
      }
  quad = group_sum(quad, tpp);
  if (g && active && lane == 0) g[row] = (T)RTK_SEG_ENERGY((double)lp[row], quad, q);
}

/* score-only MALA, the rule's end points (sampler_rtk.c score_energy_diff): Sp = s(zp) from P,
 * df = rtk_quad_ends(e0, e1); writes Y for the first interior node at fraction a0 (a0 < 0: none) */
template <class T>
__global__ void k_quad_ends(mala_args a, double a0, const T *Z, const T *S, const T *Zp, const T *P, T *Sp, double *df,
                            T *Y) {
  MALA_UNPACK(a)
  GROUP_PROLOGUE
  double e0 = 0, e1 = 0;
  if (active)
    for (int ch = lane; ch < nch; ch += tpp)
      for (int u = 0; u < 4; u++) {
        const int j = 4 * ch + u;
        if (j >= d) break;
        const size_t ij = row * d + j;
        const T z = Z[ij], zp = Zp[ij], sp = P[row * 2 * d + j] - zp * P[row * 2 * d + d + j];
        Sp[ij] = sp;
        e0 -= rtk_quad_term(S[ij], z, zp);
        e1 -= rtk_quad_term(sp, z, zp);
        if (a0 >= 0) {
          const T y = (T)rtk_quad_point(z, zp, a0);
          Y[row * 2 * d + j] = y * y;
          Y[row * 2 * d + d + j] = y;
        }
      }
  e0 = group_sum(e0, tpp);
  e1 = group_sum(e1, tpp);
  if (active && lane == 0) df[row] = rtk_quad_ends(a.rule, e0, e1);
}

/* score-only MALA, interior node at fraction aq with weight wq (evaluated: P): df += wq e; writes Y for
 * the next node at fraction an (an < 0: none) */
template <class T>
__global__ void k_quad_node(mala_args a, double aq, double wq, double an, const T *Z, const T *Zp, const T *P,
                            double *df, T *Y) {
  MALA_UNPACK(a)
  GROUP_PROLOGUE
  double e = 0;
  if (active)
    for (int ch = lane; ch < nch; ch += tpp)
      for (int u = 0; u < 4; u++) {
        const int j = 4 * ch + u;
        if (j >= d) break;
        const size_t ij = row * d + j;
        const T z = Z[ij], zp = Zp[ij], y = (T)rtk_quad_point(z, zp, aq);
        const T s = P[row * 2 * d + j] - y * P[row * 2 * d + d + j];
        e -= rtk_quad_term(s, z, zp);
        if (an >= 0) {
          const T yn = (T)rtk_quad_point(z, zp, an);
          Y[row * 2 * d + j] = yn * yn;
          Y[row * 2 * d + d + j] = yn;
        }
      }
  e = group_sum(e, tpp);
  if (active && lane == 0) df[row] += wq * e;
}

/* per-particle adaptive state at a segment's start: tau = tau_0, hbar = ltbar = 0 */
__global__ void k_adapt_init(int64_t n, size_t off, double tau0, double *taus, double *hbar, double *ltbar) {
  const int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
  if (i >= n) return;
  taus[off + i] = tau0;
  hbar[off + i] = 0;
  ltbar[off + i] = 0;
}

/* MALA accept/reject of the proposal Zp against the chain state (Z, G, S, g).  rtk-mala: the proposal's
 * score and log-density from the evaluation (P, lp), dg = g(zp) - g(z); rtk-mala-score: its score Sp and
 * dg = df + |x' - e zp|^2 / (2q) - |x' - e z|^2 / (2q).  pass: the radius test (NULL: off); taus, hbar,
 * ltbar: per-particle dual averaging (NULL: fixed step a.tau). */
template <class T>
__global__ void k_accept(mala_args a, const T *X, const T *Zp, const T *P, const T *lp, const T *Sp, const double *df,
                         const unsigned char *pass, double *taus, double *hbar, double *ltbar, T *Z, T *G, T *S, T *g,
                         unsigned long long *acc) {
  MALA_UNPACK(a)
  GROUP_PROLOGUE
  const T te = (T)a.e, tq = (T)a.q;
  const double tau = active && taus ? taus[row] : a.tau;
  double quad = 0, quad0 = 0, fwd = 0, bwd = 0;
  if (active)
    for (int ch = lane; ch < nch; ch += tpp)
      for (int u = 0; u < 4; u++) {
        const int j = 4 * ch + u;
        if (j >= d) break;
        const size_t ij = row * d + j;
        const T zp = Zp[ij], z = Z[ij], sp = a.score_only ? Sp[ij] : P[row * 2 * d + j] - zp * P[row * 2 * d + d + j];
        const T r = RTK_SEG_RESID(X[ij], zp, te), grp = RTK_SEG_GRAD(sp, r, te, tq);
        quad += (double)r * r;
        if (a.score_only) {
          const T r0 = RTK_SEG_RESID(X[ij], z, te);
          quad0 += (double)r0 * r0;
        }
        rtk_mala_terms(z, zp, G[ij], grp, tau, &fwd, &bwd);
      }
  quad = group_sum(quad, tpp);
  fwd = group_sum(fwd, tpp);
  bwd = group_sum(bwd, tpp);
  if (a.score_only) quad0 = group_sum(quad0, tpp);
  bool accept = false;
  T gp = 0;
  if (active) {
    double log_alpha = -INFINITY;
    if (!pass || pass[row]) {
      double dg;
      if (a.score_only) {
        dg = df[row] + RTK_SEG_QUAD(quad, a.q) - RTK_SEG_QUAD(quad0, a.q);
      } else {
        gp = (T)RTK_SEG_ENERGY((double)lp[row], quad, a.q);
        dg = (double)gp - (double)g[row];
      }
      log_alpha = rtk_mala_log_alpha(dg, fwd, bwd, tau);
    }
    const double uu = uniform1(a.seed, (uint64_t)(p0 + i), (uint64_t)a.k, (uint64_t)a.m + 1, RTK_RNG_ACCEPT);
    if (a.m < a.nwarm && lane == 0) { /* every lane has read tau: the shuffles above are past */
      rtk_dual_avg s = {taus[row], hbar[row], ltbar[row]};
      rtk_dual_average(&s, a.m, rtk_mala_prob(log_alpha), a.target, a.mu);
      taus[row] = a.m == a.nwarm - 1 ? exp(s.ltbar) : s.tau;
      hbar[row] = s.hbar;
      ltbar[row] = s.ltbar;
    }
    accept = rtk_mala_accept(uu, log_alpha);
  }
  if (accept) {
    for (int ch = lane; ch < nch; ch += tpp)
      for (int u = 0; u < 4; u++) {
        const int j = 4 * ch + u;
        if (j >= d) break;
        const size_t ij = row * d + j;
        const T zp = Zp[ij], sp = a.score_only ? Sp[ij] : P[row * 2 * d + j] - zp * P[row * 2 * d + d + j];
        const T r = RTK_SEG_RESID(X[ij], zp, te);
        Z[ij] = zp;
        S[ij] = sp;
        G[ij] = RTK_SEG_GRAD(sp, r, te, tq);
      }
    if (lane == 0 && !a.score_only) g[row] = gp;
  }
  /* one atomic per warp: the accepted particles' group leaders */
  const unsigned bal = __ballot_sync(0xffffffffu, accept && lane == 0);
  if ((threadIdx.x & 31) == 0 && bal) atomicAdd(acc, (unsigned long long)__popc(bal));
}

/* ddim / dpm-solver++ step (rtk_ode_denoise, rtk_ode_update) with the score assembled from P */
template <class T, int NZ>
__global__ void k_ode(int64_t n, int d, int nch, size_t off, int64_t p0, uint64_t seed, int k, rtk_ode_step c, T *X,
                      const T *P, T *D, const T *D1, const T *D2, T *Y) {
  PER_CHUNK_PROLOGUE
  double z[4] = {0, 0, 0, 0};
  if (c.sde && !c.final) normals4<NZ>(seed, id, (uint64_t)k, 0, RTK_RNG_STEP, ch, z);
  for (int u = 0; u < 4; u++) {
    const int j = 4 * ch + u;
    if (j >= d) break;
    const size_t ij = row * d + j;
    const T x = X[ij], s = P[row * 2 * d + j] - x * P[row * 2 * d + d + j];
    const T Dn = (T)rtk_ode_denoise(&c, x, s);
    const T xn = (T)rtk_ode_update(&c, x, Dn, D1[ij], c.general ? (double)D2[ij] : 0, z[u]);
    D[ij] = Dn;
    X[ij] = xn;
    Y[row * 2 * d + j] = xn * xn;
    Y[row * 2 * d + d + j] = xn;
  }
}

/* ---- pc and heun (sampler_pc.c, sampler_heun.c) ---- */
/* one pc move with the score from P: the Langevin corrector rtk_pc_correct (RNG PROPOSE, counters (k, m)) or,
 * if predict, ddpm's predictor rtk_ddpm_update (RNG STEP, (k, 0)); writes Y for the next evaluation */
template <class T, int NZ>
__global__ void k_pc(int64_t n, int d, int nch, size_t off, int64_t p0, uint64_t seed, int k, int m, int predict,
                     double eps, double sdc, rtk_ddpm_coef cf, T *X, const T *P, T *Y) {
  PER_CHUNK_PROLOGUE
  double z[4];
  normals4<NZ>(seed, id, (uint64_t)k, predict ? 0 : (uint64_t)m, predict ? RTK_RNG_STEP : RTK_RNG_PROPOSE, ch, z);
  for (int u = 0; u < 4; u++) {
    const int j = 4 * ch + u;
    if (j >= d) break;
    const T x = X[row * d + j], s = P[row * 2 * d + j] - x * P[row * 2 * d + d + j];
    const T xn = (T)(predict ? rtk_ddpm_update(&cf, x, s, z[u]) : rtk_pc_correct(x, s, eps, sdc, z[u]));
    X[row * d + j] = xn;
    Y[row * 2 * d + j] = xn * xn;
    Y[row * 2 * d + d + j] = xn;
  }
}

/* heun, one phase of a step t -> s in the VE variable y = x / alpha (V = y, W = y'):
 *   phase 0: V = X / at, the evaluation point at V into Y;
 *   phase 1 (score at at V in P): W = V + e s, then if last: X = as W, else V += (e/2) s and as W into Y;
 *   phase 2 (score at as W in P): V += e2 s, X = as V.
 * a0: the alpha of the point evaluated in P (phases 1, 2) */
template <class T>
__global__ void k_heun(int64_t n, int d, int nch, size_t off, int64_t p0, int phase, int last, double at, double as,
                       double e, double e2, T *X, T *V, T *W, const T *P, T *Y) {
  PER_CHUNK_PROLOGUE
  for (int u = 0; u < 4; u++) {
    const int j = 4 * ch + u;
    if (j >= d) break;
    const size_t ij = row * d + j;
    double ev; /* the next evaluation point (x coordinates), if any */
    if (phase == 0) {
      const T v = (T)((double)X[ij] / at);
      V[ij] = v;
      ev = at * (double)v;
    } else if (phase == 1) {
      const T xs = (T)(at * (double)V[ij]), s = P[row * 2 * d + j] - xs * P[row * 2 * d + d + j];
      const T w = (T)rtk_heun_move(V[ij], e, s);
      W[ij] = w;
      if (last) {
        X[ij] = (T)(as * (double)w);
        continue;
      }
      V[ij] = (T)rtk_heun_move(V[ij], 0.5 * e, s);
      ev = as * (double)w;
    } else {
      const T xs = (T)(as * (double)W[ij]), s = P[row * 2 * d + j] - xs * P[row * 2 * d + d + j];
      const T v = (T)rtk_heun_move(V[ij], e2, s);
      V[ij] = v;
      X[ij] = (T)(as * (double)v);
      continue;
    }
    const T y = (T)ev;
    Y[row * 2 * d + j] = y * y;
    Y[row * 2 * d + d + j] = y;
  }
}

/* ULD: the segment's velocities ~ N(0, I) */
template <class T, int NZ> __global__ void k_velocity(int64_t n, int d, int nch, size_t off, int64_t p0, uint64_t seed, int k, T *V) {
  PER_CHUNK_PROLOGUE
  double z[4];
  normals4<NZ>(seed, id, (uint64_t)k, 0, RTK_RNG_VELOCITY, ch, z);
  for (int u = 0; u < 4; u++) {
    const int j = 4 * ch + u;
    if (j >= d) break;
    V[row * d + j] = (T)z[u];
  }
}

/* one ULA (uld = 0) or ULD step of the RTK inner chain at Z (evaluated: P) on the coordinates 4ch .. 4ch+3 of
 * row: grad g from the score, then rtk_ula_update / rtk_uld_update; writes Y for the next evaluation; Zo, Go (may
 * be null) get the evaluated state and its gradient (the adaptive warm-up's secant).  Both Langevin kernels. */
template <class T>
__device__ inline void langevin_chunk(int d, size_t row, int ch, int uld, T e, T q, double tau, double sq,
                                      const rtk_uld_coef &uc, const double *xi, const double *xi2, const T *X,
                                      const T *P, T *Z, T *V, T *Y, T *Zo, T *Go) {
  for (int u = 0; u < 4; u++) {
    const int j = 4 * ch + u;
    if (j >= d) break;
    const size_t ij = row * d + j;
    const T z = Z[ij], s = P[row * 2 * d + j] - z * P[row * 2 * d + d + j];
    const T r = RTK_SEG_RESID(X[ij], z, e), gr = RTK_SEG_GRAD(s, r, e, q);
    if (Zo) {
      Zo[ij] = z;
      Go[ij] = gr;
    }
    double zn = z;
    if (uld) {
      double v = V[ij];
      rtk_uld_update(&uc, &zn, &v, gr, xi[u], xi2[u]);
      V[ij] = (T)v;
    } else {
      zn = rtk_ula_update(z, gr, tau, sq, xi[u]);
    }
    const T zz = (T)zn;
    Z[ij] = zz;
    Y[row * 2 * d + j] = zz * zz;
    Y[row * 2 * d + d + j] = zz;
  }
}

/* one ULA/ULD step (fixed step tau) on one chunk of 4 coordinates per thread */
template <class T, int NZ>
__global__ void k_langevin(int64_t n, int d, int nch, size_t off, int64_t p0, uint64_t seed, int k, int m, int uld,
                           double e, double q, double tau, rtk_uld_coef uc, const T *X, const T *P, T *Z, T *V, T *Y) {
  PER_CHUNK_PROLOGUE
  double xi[4], xi2[4] = {0, 0, 0, 0};
  normals4<NZ>(seed, id, (uint64_t)k, (uint64_t)m + 1, RTK_RNG_PROPOSE, ch, xi);
  if (uld) normals4<NZ>(seed, id, (uint64_t)k, (uint64_t)m + 1, RTK_RNG_VELOCITY, ch, xi2);
  langevin_chunk<T>(d, row, ch, uld, (T)e, (T)q, tau, sqrt(2 * tau), uc, xi, xi2, X, P, Z, V, Y, nullptr, nullptr);
}

/* one ULA/ULD step with step_mode = adaptive (a group per particle; sampler_rtk.c secant_update and
 * langevin_steps): during the warm-up (1 <= m <= nwarm) the secant curvature from the previous state
 * (Zo, Go) raises L (lcurv), and at m = nwarm the particle's step becomes rtk_secant_tau; then the
 * step with the particle's tau (taus), and Zo, Go <- the evaluated state.  a.tau: tau_0; c: cfg step */
template <class T, int NZ>
__global__ void k_langevin_adapt(mala_args a, int uld, double gam, double c, const T *X, const T *P, T *Z, T *V,
                                 T *Zo, T *Go, double *taus, double *lcurv, T *Y) {
  MALA_UNPACK(a)
  GROUP_PROLOGUE
  const T te = (T)a.e, tq = (T)a.q;
  const bool sec = a.m >= 1 && a.m <= a.nwarm;
  double tau = active ? taus[row] : a.tau, lc = active ? lcurv[row] : 0, dz = 0, dg = 0;
  if (active && sec)
    for (int ch = lane; ch < nch; ch += tpp)
      for (int u = 0; u < 4; u++) {
        const int j = 4 * ch + u;
        if (j >= d) break;
        const size_t ij = row * d + j;
        const T z = Z[ij], s = P[row * 2 * d + j] - z * P[row * 2 * d + d + j];
        const T r = RTK_SEG_RESID(X[ij], z, te), gr = RTK_SEG_GRAD(s, r, te, tq);
        rtk_secant_terms(z, Zo[ij], gr, Go[ij], &dz, &dg);
      }
  dz = group_sum(dz, tpp);
  dg = group_sum(dg, tpp);
  if (!active) return; /* past the shuffles: the whole group is inactive */
  if (sec) {
    lc = rtk_secant_curv(lc, dz, dg);
    if (a.m == a.nwarm) tau = rtk_secant_tau(lc, c, a.tau);
    if (lane == 0) {
      lcurv[row] = lc;
      taus[row] = tau;
    }
  }
  const rtk_uld_coef uc = rtk_uld_coefs(gam, tau);
  const double sq = sqrt(2 * tau);
  for (int ch = lane; ch < nch; ch += tpp) {
    double xi[4], xi2[4] = {0, 0, 0, 0};
    normals4<NZ>(a.seed, (uint64_t)(p0 + i), (uint64_t)a.k, (uint64_t)a.m + 1, RTK_RNG_PROPOSE, ch, xi);
    if (uld) normals4<NZ>(a.seed, (uint64_t)(p0 + i), (uint64_t)a.k, (uint64_t)a.m + 1, RTK_RNG_VELOCITY, ch, xi2);
    langevin_chunk<T>(d, row, ch, uld, te, tq, tau, sq, uc, xi, xi2, X, P, Z, V, Y, Zo, Go);
  }
}

/* histogram counts of coordinates j0 .. j0+J-1 (shared-memory counters, then one atomic per bin and block) */
template <class T>
__global__ void k_hist(int64_t n, int d, size_t off, const T *X, const double *lo, const double *hi, int nb, int j0,
                       int J, unsigned long long *count) {
  extern __shared__ unsigned int sh[];
  const int nbin = nb + 2;
  for (int b = threadIdx.x; b < J * nbin; b += blockDim.x) sh[b] = 0;
  __syncthreads();
  for (int64_t e = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; e < n * J; e += (int64_t)gridDim.x * blockDim.x) {
    const int64_t r = e / J;
    const int j = j0 + (int)(e % J);
    atomicAdd(&sh[(j - j0) * nbin + rtk_hist_bin((double)X[(off + r) * d + j], lo[j], hi[j], nb)], 1u);
  }
  __syncthreads();
  for (int b = threadIdx.x; b < J * nbin; b += blockDim.x)
    if (sh[b]) atomicAdd(&count[(size_t)j0 * nbin + b], (unsigned long long)sh[b]);
}
/* the same with global counters (bins too many for shared memory) */
template <class T>
__global__ void k_hist_global(int64_t n, int d, size_t off, const T *X, const double *lo, const double *hi, int nb,
                              unsigned long long *count) {
  for (int64_t e = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; e < n * d; e += (int64_t)gridDim.x * blockDim.x) {
    const int j = (int)(e % d);
    atomicAdd(&count[(size_t)j * (nb + 2) + rtk_hist_bin((double)X[(off + e / d) * d + j], lo[j], hi[j], nb)], 1ull);
  }
}

/* ---- final-sample diagnostics (rtk_dev_diag): the host's exact integer sums, added on the device ---- */
/* Y = [x^2 | x] of the final particles (the score kernel's input: mode assignment by the first GEMM) */
template <class T> __global__ void k_fill_y(int64_t n, int d, size_t off, const T *X, T *Y) {
  const int64_t e = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
  if (e >= n * d) return;
  const size_t row = off + (size_t)(e / d);
  const int j = (int)(e % d);
  const T x = X[row * d + j];
  Y[row * 2 * d + j] = x * x;
  Y[row * 2 * d + d + j] = x;
}
/* mode counts: the first k with the largest logit L + c (one warp per row; ties to the lower index, as
 * rtk_mix_argmax's scan) */
template <class T>
__global__ void k_argmax(int64_t n, int K, size_t off, const T *L, const T *c, unsigned long long *modes) {
  const int64_t w = ((int64_t)blockIdx.x * blockDim.x + threadIdx.x) >> 5;
  const int lane = threadIdx.x & 31;
  if (w >= n) return; /* the whole warp */
  const T *l = L + (off + (size_t)w) * K;
  T best = -INFINITY;
  int bk = K;
  for (int k = lane; k < K; k += 32) {
    const T v = l[k] + c[k];
    if (v > best) {
      best = v;
      bk = k;
    }
  }
  for (int o = 16; o > 0; o /= 2) {
    const T ob = __shfl_xor_sync(0xffffffffu, best, o);
    const int ok = __shfl_xor_sync(0xffffffffu, bk, o);
    if (ob > best || (ob == best && ok < bk)) {
      best = ob;
      bk = ok;
    }
  }
  if (lane == 0) atomicAdd(&modes[bk < K ? bk : 0], 1ull);
}
/* rtk_tv_lin_sums on the device: u = sum over coordinates j of sign[j][bin of x_j] (rtk_hist_bin, as the host's
 * bins_of: the same integers), one warp per particle; s1 += u, s2 += u^2 (integers: any order, the same sums;
 * signed values added as two's complement, exact modulo 2^64) */
template <class T>
__global__ void k_lin_sums(int64_t n, int d, size_t off, const T *X, const double *lo, const double *hi, int nb,
                           const signed char *sign, unsigned long long *s) {
  __shared__ long long part[2][32];
  const int64_t w = ((int64_t)blockIdx.x * blockDim.x + threadIdx.x) >> 5;
  const int lane = threadIdx.x & 31, wb = threadIdx.x >> 5;
  long long u = 0;
  if (w < n)
    for (int j = lane; j < d; j += 32)
      u += sign[(size_t)j * (nb + 2) + rtk_hist_bin((double)X[(off + (size_t)w) * d + j], lo[j], hi[j], nb)];
  for (int o = 16; o > 0; o /= 2) u += __shfl_xor_sync(0xffffffffu, u, o);
  if (lane == 0) {
    part[0][wb] = u;
    part[1][wb] = u * u;
  }
  __syncthreads();
  if (threadIdx.x == 0) {
    long long a = 0, b = 0;
    for (int i = 0; i < (int)(blockDim.x >> 5); i++) {
      a += part[0][i];
      b += part[1][i];
    }
    atomicAdd(&s[0], (unsigned long long)a);
    atomicAdd(&s[1], (unsigned long long)b);
  }
}
/* u.x of the final particles on every direction (fixed order over j) into Yp [n][ns] */
template <class T>
__global__ void k_project(int64_t n, int d, int ns, size_t off, const T *X, const double *U, double *Yp) {
  const int64_t e = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
  if (e >= n * ns) return;
  const int64_t i = e / ns;
  const int sl = (int)(e % ns);
  const T *x = X + (off + (size_t)i) * d;
  const double *u = U + (size_t)sl * d;
  double y = 0;
  for (int j = 0; j < d; j++) y += u[j] * (double)x[j];
  Yp[e] = y;
}
/* per-coordinate integer sums over the particles: thread (j, p) takes particles p, p + P, ...; then one atomic
 * per thread (two's complement: unsigned wrap-around adds signed values exactly).  m1/m2d: the moment sums
 * (diagonal); fs1 (and Q, the quantised y for the Fréchet GEMM): the Fréchet first sums about fmean */
template <class T>
__global__ void k_colsums(int64_t n, int d, int P, size_t off, const T *X, unsigned long long *m1,
                          unsigned long long *m2d, const double *fmean, unsigned long long *fs1, double *Q) {
  const int64_t t = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
  if (t >= (int64_t)d * P) return;
  const int j = (int)(t % d), p = (int)(t / d);
  int64_t a1 = 0, a2 = 0, a3 = 0;
  for (int64_t i = p; i < n; i += P) {
    const double x = (double)X[(off + (size_t)i) * d + j];
    if (m1) a1 += rtk_fixed(x, 1048576.0);
    if (m2d) a2 += rtk_fixed(x * x * 1e-3, 1024.0 * 1e3);
    if (fs1) {
      const double q = rtk_fd_quant(x - fmean[j]);
      Q[(size_t)i * d + j] = q;
      a3 += (int64_t)q;
    }
  }
  if (m1) atomicAdd(&m1[j], (unsigned long long)a1);
  if (m2d) atomicAdd(&m2d[j], (unsigned long long)a2);
  if (fs1) atomicAdd(&fs1[j], (unsigned long long)a3);
}
/* full second-moment sums (rtk_moment_sums with full = 1): thread (a, b, p) for coordinate pair (a, b) */
template <class T>
__global__ void k_cov_fixed(int64_t n, int d, int P, size_t off, const T *X, unsigned long long *m2) {
  const int64_t t = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
  if (t >= (int64_t)d * d * P) return;
  const int ab = (int)(t % ((int64_t)d * d)), p = (int)(t / ((int64_t)d * d)), a = ab / d, b = ab % d;
  int64_t s = 0;
  for (int64_t i = p; i < n; i += P) {
    const T *x = X + (off + (size_t)i) * d;
    s += rtk_fixed((double)x[a] * (double)x[b] * 1e-3, 1024.0 * 1e3);
  }
  atomicAdd(&m2[ab], (unsigned long long)s);
}
/* s2 (upper triangle) += G, an integer-valued d x d sum of quantised products (exact in double: < 2^53) */
__global__ void k_add_gram(int d, const double *G, unsigned long long *s2) {
  const int64_t e = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
  if (e >= (int64_t)d * d) return;
  const int i = (int)(e / d), j = (int)(e % d);
  if (j >= i) s2[e] += (unsigned long long)(int64_t)G[(size_t)j * d + i];
}

/* ------------------------------------------------------------------ cuBLAS by type */
static cublasStatus_t gemm(cublasOperation_t ta, cublasOperation_t tb, int m, int n, int k, const double *A, int lda,
                           const double *B, int ldb, double *C, int ldc) {
  const double one = 1, zero = 0;
  return cublasDgemm(g_blas, ta, tb, m, n, k, &one, A, lda, B, ldb, &zero, C, ldc);
}
static cublasStatus_t gemm(cublasOperation_t ta, cublasOperation_t tb, int m, int n, int k, const float *A, int lda,
                           const float *B, int ldb, float *C, int ldc) {
  const float one = 1, zero = 0;
  return cublasSgemm(g_blas, ta, tb, m, n, k, &one, A, lda, B, ldb, &zero, C, ldc);
}

/* ------------------------------------------------------------------ one run */
template <class T> struct dev_score;
template <class T> struct dev_run {
  const rtk_dev_job *job;
  const rtk_mixture *mix;
  int d, K, nch, tpp;
  int64_t n, p0;
  size_t R, off; /* padded rows, first real row */
  T *X, *Z, *Zp, *G, *S, *Y, *L, *P, *lp, *g;
  T *C1, *C2, *c; /* [K][2d] = [-A/2 | MA], [K][2d] = [MA | A], [K] */
  T *hC1, *hC2, *hc, *hX;
  rtk_mixcoef coef;
  double *dlo, *dhi;          /* [nbnd][d] */
  unsigned long long *dcount; /* [nbnd][d][nb+2] */
  unsigned long long *dacc;   /* [S] accepted proposals */
  double *dw, *dmu, *dvar;    /* exact sampler: the mixture */
  T *D, *D1, *D2, *V;         /* ode: data predictions (now, 1 and 2 steps back); uld: velocities */
  T *Sp;                      /* rtk-mala-score: the proposal's score */
  double *df;                 /* rtk-mala-score: [R] the quadrature's f(zp) - f(z) */
  double *taus, *hbar, *ltbar; /* MALA, step_mode = adaptive: [R] per-particle dual averaging */
  double *lcurv;              /* ULA/ULD, step_mode = adaptive: [R] secant curvature (taus: the steps) */
  unsigned char *pass;        /* MALA, radius > 0: [R] the proposal passed the radius test */
  unsigned long long *dpass;  /* MALA, radius > 0: [S] passes (each costs 1 + quadrature nodes NFE) */
  int nfe_pass;               /* NFE per passed proposal */
  T *tab;                     /* [S+1][stride] C1, C2, c of every grid time (NULL: uploaded per time) */
  size_t stride;
  const double *times;
  /* per-segment device time: start/end events of up to RING segments, flushed when full */
  cudaEvent_t ev0[64], ev1[64];
  int nev, kev0, have_ev;
  int *dk;                    /* ddpm step graph: the step index on the device */
  rtk_ddpm_coef *dcf;         /* ddpm step graph: [S] step coefficients */
  int prof;                   /* RTK_CUDA_PROFILE=1: per-phase device time, printed at the end */
  double prof_s[8];
  cudaEvent_t pa, pb;
  const dev_score<T> *sops;   /* the score model on the device (its name is the host model's) */
  void *sm;                   /* its state */
  int sexact;                 /* the model is exact (the ddpm fast paths) */
};
enum { PH_COEF, PH_GEMM1, PH_LSE, PH_GEMM2, PH_MODEL, PH_UPDATE, PH_HIST, PH_COPY, PH_N };
static const char *const ph_name[PH_N] = {"coefficients", "gemm1", "lse", "gemm2", "score model", "update",
                                          "histograms", "copies"};
/* run stmt as phase ph (profiling: between two events, synchronised) */
#define PHASE(r, ph, ...)                                            \
  do {                                                                \
    if ((r)->prof) cudaEventRecord((r)->pa, g_stream);                \
    __VA_ARGS__;                                                      \
    if ((r)->prof) {                                                  \
      float ms_ = 0;                                                  \
      cudaEventRecord((r)->pb, g_stream);                             \
      cudaEventSynchronize((r)->pb);                                  \
      cudaEventElapsedTime(&ms_, (r)->pa, (r)->pb);                   \
      (r)->prof_s[ph] += ms_ * 1e-3;                                  \
    }                                                                 \
  } while (0)

template <class T> static void run_free(dev_run<T> *r) {
  if (r->sops) r->sops->destroy(r->sm);
  r->C2 = r->c = nullptr; /* they point into C1's allocation */
  void *dev[] = {r->X, r->Z, r->Zp, r->G, r->S, r->Y, r->L, r->P, r->lp, r->g, r->C1, r->C2, r->c,
                 r->dlo, r->dhi, r->dcount, r->dacc, r->dw, r->dmu, r->dvar, r->D, r->D1, r->D2, r->V, r->tab,
                 r->Sp, r->df, r->taus, r->hbar, r->ltbar, r->pass, r->dpass, r->lcurv, r->dk, r->dcf};
  for (size_t i = 0; i < sizeof dev / sizeof dev[0]; i++) cudaFree(dev[i]);
  free(r->hC1);
  free(r->hC2);
  free(r->hc);
  free(r->hX);
  if (r->coef.A) rtk_mixcoef_free(&r->coef);
  if (r->have_ev) {
    for (int i = 0; i < 64; i++) {
      cudaEventDestroy(r->ev0[i]);
      cudaEventDestroy(r->ev1[i]);
    }
    cudaEventDestroy(r->pa);
    cudaEventDestroy(r->pb);
  }
}

static inline unsigned blocks_for(int64_t threads, int bs) { return (unsigned)((threads + bs - 1) / bs); }

template <class T> static int halloc(T **p, size_t n) {
  *p = (T *)calloc(n ? n : 1, sizeof(T));
  return *p ? RTK_OK : RTK_ERR(RTK_ERR_MEM, "out of memory (%zu elements)", n);
}

template <class T> static int dalloc(T **p, size_t n) {
  CU(cudaMalloc((void **)p, (n ? n : 1) * sizeof(T)));
  CU(cudaMemsetAsync(*p, 0, (n ? n : 1) * sizeof(T), g_stream));
  return RTK_OK;
}

/* host coefficients of p_t in the kernel's layout: C1 = [-A/2 | MA], C2 = [MA | A], c */
template <class T> static void host_coefs(dev_run<T> *r, double t, T *C1, T *C2, T *c) {
  rtk_mixcoef_set_time(r->mix, t, &r->coef);
  const int K = r->K, d = r->d;
  for (int k = 0; k < K; k++) {
    for (int j = 0; j < d; j++) {
      const double A = r->coef.A[(size_t)k * d + j], MA = r->coef.MA[(size_t)k * d + j];
      C1[(size_t)j * K + k] = (T)(-0.5 * A); /* C1 stored transposed, [2d][K]: both GEMMs without transposes */
      C1[(size_t)(d + j) * K + k] = (T)MA;
      C2[(size_t)k * 2 * d + j] = (T)MA;
      C2[(size_t)k * 2 * d + d + j] = (T)A;
    }
    c[k] = (T)r->coef.c[k];
  }
}

/* every grid time's coefficients uploaded once, when they fit in 1 GiB (else set_time uploads per time) */
template <class T> static int coef_table(dev_run<T> *r, int ntimes) {
  const size_t stride = (size_t)r->K * 4 * r->d + r->K;
  if ((double)stride * ntimes * sizeof(T) > 1073741824.0) return RTK_OK;
  T *h = (T *)malloc(sizeof(T) * stride * ntimes);
  if (!h) return RTK_ERR(RTK_ERR_MEM, "out of memory");
  for (int k = 0; k < ntimes; k++) {
    T *b = h + (size_t)k * stride;
    host_coefs(r, r->times[k], b, b + (size_t)r->K * 2 * r->d, b + (size_t)r->K * 4 * r->d);
  }
  cudaError_t e = cudaMalloc((void **)&r->tab, sizeof(T) * stride * ntimes);
  if (e == cudaSuccess) e = cudaMemcpy(r->tab, h, sizeof(T) * stride * ntimes, cudaMemcpyHostToDevice);
  free(h);
  CU(e);
  r->stride = stride;
  return RTK_OK;
}

/* the score kernel's coefficients at grid time k */
template <class T> static int mix_time(dev_run<T> *r, int k) {
  const int K = r->K, d = r->d;
  if (r->tab) { /* one device-to-device copy into fixed buffers: cuBLAS always sees the same pointers (with a
                   * new A pointer per call, measured on H100/H200, each GEMM cost ~70 us more) */
    PHASE(r, PH_COEF, CU(cudaMemcpyAsync(r->C1, r->tab + (size_t)k * r->stride, sizeof(T) * r->stride,
                                         cudaMemcpyDeviceToDevice, g_stream)));
    return RTK_OK;
  }
  PHASE(r, PH_COEF, {
    host_coefs(r, r->times[k], r->hC1, r->hC2, r->hc);
    CU(cudaStreamSynchronize(g_stream)); /* the previous time's coefficients are no longer read */
    CU(cudaMemcpyAsync(r->C1, r->hC1, sizeof(T) * K * 2 * d, cudaMemcpyHostToDevice, g_stream));
    CU(cudaMemcpyAsync(r->C2, r->hC2, sizeof(T) * K * 2 * d, cudaMemcpyHostToDevice, g_stream));
    CU(cudaMemcpyAsync(r->c, r->hc, sizeof(T) * K, cudaMemcpyHostToDevice, g_stream));
  });
  return RTK_OK;
}

/* per-segment device seconds without a synchronisation per segment */
template <class T> static int seg_begin(dev_run<T> *r, int k) {
  if (r->nev == 0) r->kev0 = k;
  CU(cudaEventRecord(r->ev0[r->nev], g_stream));
  return RTK_OK;
}
template <class T> static int seg_flush(dev_run<T> *r, rtk_stats *st) {
  if (!r->nev) return RTK_OK;
  CU(cudaEventSynchronize(r->ev1[r->nev - 1]));
  for (int i = 0; i < r->nev; i++) {
    float ms = 0;
    CU(cudaEventElapsedTime(&ms, r->ev0[i], r->ev1[i]));
    st->seconds[r->kev0 + i] += ms * 1e-3;
  }
  r->nev = 0;
  return RTK_OK;
}
template <class T> static int seg_end(dev_run<T> *r, rtk_stats *st) {
  CU(cudaEventRecord(r->ev1[r->nev++], g_stream));
  return r->nev == 64 ? seg_flush(r, st) : RTK_OK;
}

/* score (P) and log-density (lp, if logp) of the rows held in Y, at the time last set:
 * L = Y C1 (+ c; C1 stored [2d][K]), softmax, P = R C2; GEMMs of RTK_CUDA_ROWS rows each (row-major via column-major cuBLAS) */
template <class T> static int mix_eval(dev_run<T> *r, int logp) {
  const int d = r->d, K = r->K, G = RTK_CUDA_ROWS;
  PHASE(r, PH_GEMM1, {
    for (size_t c0 = 0; c0 < r->R; c0 += G)
      CB(gemm(CUBLAS_OP_N, CUBLAS_OP_N, K, G, 2 * d, r->C1, K, r->Y + c0 * 2 * d, 2 * d, r->L + c0 * K, K));
  });
  PHASE(r, PH_LSE, {
    const unsigned nb = blocks_for(r->n * 32, 256);
    T *lp = logp ? r->lp : nullptr;
    if (K <= 32) k_lse_reg<T, 1><<<nb, 256, 0, g_stream>>>(r->n, K, r->off, r->L, r->c, lp);
    else if (K <= 64) k_lse_reg<T, 2><<<nb, 256, 0, g_stream>>>(r->n, K, r->off, r->L, r->c, lp);
    else if (K <= 128) k_lse_reg<T, 4><<<nb, 256, 0, g_stream>>>(r->n, K, r->off, r->L, r->c, lp);
    else if (K <= 256) k_lse_reg<T, 8><<<nb, 256, 0, g_stream>>>(r->n, K, r->off, r->L, r->c, lp);
    else k_lse<T><<<nb, 256, 0, g_stream>>>(r->n, K, r->off, r->L, r->c, lp);
    LAUNCHED();
  });
  PHASE(r, PH_GEMM2, {
    for (size_t c0 = 0; c0 < r->R; c0 += G)
      CB(gemm(CUBLAS_OP_N, CUBLAS_OP_N, 2 * d, G, K, r->C2, 2 * d, r->L + c0 * K, K, r->P + c0 * 2 * d, 2 * d));
  });
  return RTK_OK;
}

/* ------------------------------------------------------------------ device score models
 * The device side of the score plug-ins (include/rtk/score.h), IOR aiori style like the backends: a struct of
 * function pointers per model, found by the host model's name (rtk_score_ops.name).  A device model is made
 * from the host model (rtk_score.model: the mixture, the rtk_mlp weights, the perturbed model's features and
 * calibration), per run:
 *   create(r, host, &m)  upload what the model needs, allocate its scratch for the run's R rows
 *   set_time(r, m, k)    grid time k (r->times[k]); the host computes what the cpu model's set_time does
 *   eval(r, m, logp)     the rows in Y (x in columns d .. 2d-1 of [x^2 | x]) -> P, and lp if logp
 *   destroy(m)
 * The samplers' kernels read a particle's score as P1 - x o P2 (P = [P1 | P2], rows of 2d): the exact model
 * leaves the mixture's [R MA | R A] there; every other model writes its score into P1 and zeros into P2 (then
 * P1 - x 0 = P1 exactly), so the sampler kernels are the same for every model.  Only `exact` has the ddpm
 * fast paths (the one-kernel step and the step graph).  Every GEMM is issued per RTK_CUDA_ROWS rows, like the
 * mixture's, and the other kernels are per element: rank-count independent.  To add a model: write its
 * create/set_time/eval/destroy below and add it to dev_model's table. */
template <class T> struct dev_score {
  const char *name; /* = rtk_score_ops.name of the host model */
  int (*create)(dev_run<T> *r, const rtk_score *host, void **m);
  int (*set_time)(dev_run<T> *r, void *m, int k);
  int (*eval)(dev_run<T> *r, void *m, int logp);
  void (*destroy)(void *m);
};

/* host doubles -> a new device array of T */
template <class T> static int upload_as(T **dp, const double *h, size_t n) {
  T *t = (T *)malloc(sizeof(T) * (n ? n : 1));
  if (!t) return RTK_ERR(RTK_ERR_MEM, "out of memory");
  for (size_t i = 0; i < n; i++) t[i] = (T)h[i];
  int rc = dalloc(dp, n); /* on g_stream (non-blocking): the copy must follow dalloc's memset there */
  if (!rc && (cudaMemcpyAsync(*dp, t, sizeof(T) * n, cudaMemcpyHostToDevice, g_stream) != cudaSuccess ||
              cudaStreamSynchronize(g_stream) != cudaSuccess))
    rc = RTK_ERR(RTK_ERR_RUNTIME, "CUDA: uploading a score model failed");
  free(t);
  return rc;
}

/* ---- exact: the mixture kernel itself (its buffers live in dev_run) */
template <class T> static int ex_create(dev_run<T> *r, const rtk_score *host, void **m) {
  (void)r, (void)host;
  *m = nullptr;
  return RTK_OK;
}
template <class T> static int ex_time(dev_run<T> *r, void *m, int k) {
  (void)m;
  return mix_time(r, k);
}
template <class T> static int ex_eval(dev_run<T> *r, void *m, int logp) {
  (void)m;
  return mix_eval(r, logp);
}
static void ex_destroy(void *m) { (void)m; }

/* ---- perturbed (score_perturbed.c): the exact score plus c(t) e(x), e(x) = sum_q A_q cos(Om_q . x + phi_q) */
template <class T> struct pert_dev {
  const void *host;
  int M;
  double c;          /* c(t) of the time last set (rtk_perturbed_scale, on the host) */
  T *Om, *phi, *A;   /* [M][d], [M], [M][d] */
  T *F, *E;          /* [R][M] features, [R][d] field */
};
/* F <- cos(F + phi) on the rank's rows */
template <class T> __global__ void k_cos_feat(int64_t n, int M, size_t off, const T *phi, T *F) {
  const int64_t e = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
  if (e >= n * M) return;
  const size_t ij = off * M + (size_t)e;
  F[ij] = cos(F[ij] + phi[e % M]);
}
/* P1 <- (P1 - x o P2) + c E (score_perturbed.c eval: the exact score, then += c e), P2 <- 0 */
template <class T> __global__ void k_pert_add(int64_t n, int d, size_t off, const T *Y, const T *E, T c, T *P) {
  const int64_t e = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
  if (e >= n * d) return;
  const size_t row = off + (size_t)(e / d);
  const int j = (int)(e % d);
  const T x = Y[row * 2 * d + d + j], s = P[row * 2 * d + j] - x * P[row * 2 * d + d + j];
  P[row * 2 * d + j] = s + c * E[row * d + j];
  P[row * 2 * d + d + j] = 0;
}
template <class T> static void pert_destroy(void *p) {
  pert_dev<T> *m = (pert_dev<T> *)p;
  if (!m) return;
  cudaFree(m->Om);
  cudaFree(m->phi);
  cudaFree(m->A);
  cudaFree(m->F);
  cudaFree(m->E);
  free(m);
}
template <class T> static int pert_create(dev_run<T> *r, const rtk_score *host, void **out) {
  pert_dev<T> *m = (pert_dev<T> *)calloc(1, sizeof *m);
  if (!m) return RTK_ERR(RTK_ERR_MEM, "out of memory");
  *out = m;
  rtk_perturbed_features f;
  rtk_perturbed_features_of(host->model, &f);
  if (f.d != r->d) return RTK_ERR(RTK_ERR_INPUT, "perturbed score: features of dim %d, target dim %d", f.d, r->d);
  m->host = host->model;
  m->M = f.M;
  RTK_CHECK(upload_as(&m->Om, f.Om, (size_t)f.M * f.d));
  RTK_CHECK(upload_as(&m->phi, f.phi, (size_t)f.M));
  RTK_CHECK(upload_as(&m->A, f.A, (size_t)f.M * f.d));
  RTK_CHECK(dalloc(&m->F, r->R * f.M));
  RTK_CHECK(dalloc(&m->E, r->R * f.d));
  return RTK_OK;
}
template <class T> static int pert_time(dev_run<T> *r, void *p, int k) {
  pert_dev<T> *m = (pert_dev<T> *)p;
  m->c = rtk_perturbed_scale(m->host, r->times[k]);
  return mix_time(r, k);
}
template <class T> static int pert_eval(dev_run<T> *r, void *p, int logp) {
  pert_dev<T> *m = (pert_dev<T> *)p;
  if (logp) return RTK_ERR(RTK_ERR_RUNTIME, "score model perturbed has no energy");
  RTK_CHECK(mix_eval(r, 0));
  if (m->c == 0) return RTK_OK; /* score.error = 0: the exact score (as the cpu model) */
  const int d = r->d, M = m->M, G = RTK_CUDA_ROWS;
  PHASE(r, PH_MODEL, {
    /* F^T = Om X^T (F [n][M] row-major), then E^T = A^T cos(F + phi)^T (E [n][d]) */
    for (size_t c0 = 0; c0 < r->R; c0 += G)
      CB(gemm(CUBLAS_OP_T, CUBLAS_OP_N, M, G, d, m->Om, d, r->Y + c0 * 2 * d + d, 2 * d, m->F + c0 * M, M));
    k_cos_feat<T><<<blocks_for(r->n * M, 256), 256, 0, g_stream>>>(r->n, M, r->off, m->phi, m->F);
    LAUNCHED();
    for (size_t c0 = 0; c0 < r->R; c0 += G)
      CB(gemm(CUBLAS_OP_N, CUBLAS_OP_N, d, G, M, m->A, d, m->F + c0 * M, M, m->E + c0 * d, d));
    k_pert_add<T><<<blocks_for(r->n * d, 256), 256, 0, g_stream>>>(r->n, d, r->off, r->Y, m->E, (T)m->c, r->P);
    LAUNCHED();
  });
  return RTK_OK;
}

/* ---- mlp (score_mlp.c): one GEMM per layer, bias + SiLU per element; the time embedding enters through the
 * first layer's bias b_0(t) (rtk_mlp_time_bias), computed on the host for every grid time and uploaded once */
template <class T> struct mlp_dev {
  const rtk_mlp *net;
  int L, Wd, c0;
  T **W, **b;     /* host arrays of device pointers [L + 1] */
  T *B0;          /* [S + 1][Wd] b_0(t_k) */
  double *rho;    /* host [S + 1] */
  int k;          /* time last set */
  T *H, *H2;      /* [R][Wd] activations */
};
/* H <- SiLU(H + b) on the rank's rows (score_math.c rtk_silu_block: h / (1 + e^{-h})) */
template <class T> __global__ void k_bias_silu(int64_t n, int m, size_t off, const T *b, T *H) {
  const int64_t e = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
  if (e >= n * m) return;
  const size_t ij = off * m + (size_t)e;
  const T h = H[ij] + b[e % m];
  H[ij] = h / (1 + exp(-h));
}
/* P1 <- (P1 + b) / rho (the output layer's result, written into P1 by the last GEMM), P2 <- 0 */
template <class T> __global__ void k_mlp_out(int64_t n, int d, size_t off, const T *b, T rho, T *P) {
  const int64_t e = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
  if (e >= n * d) return;
  const size_t row = off + (size_t)(e / d);
  const int j = (int)(e % d);
  P[row * 2 * d + j] = (P[row * 2 * d + j] + b[j]) / rho;
  P[row * 2 * d + d + j] = 0;
}
template <class T> static void mlp_destroy(void *p) {
  mlp_dev<T> *m = (mlp_dev<T> *)p;
  if (!m) return;
  for (int l = 0; l <= m->L && m->W; l++) cudaFree(m->W[l]);
  for (int l = 0; l <= m->L && m->b; l++) cudaFree(m->b[l]);
  free(m->W);
  free(m->b);
  free(m->rho);
  cudaFree(m->B0);
  cudaFree(m->H);
  cudaFree(m->H2);
  free(m);
}
template <class T> static int mlp_create(dev_run<T> *r, const rtk_score *host, void **out) {
  mlp_dev<T> *m = (mlp_dev<T> *)calloc(1, sizeof *m);
  if (!m) return RTK_ERR(RTK_ERR_MEM, "out of memory");
  *out = m;
  const rtk_mlp *net = (const rtk_mlp *)host->model; /* an mlp model is its rtk_mlp (score_mlp.c create) */
  if (net->d != r->d) return RTK_ERR(RTK_ERR_INPUT, "mlp score: network of dim %d, target dim %d", net->d, r->d);
  const int L = net->depth, Wd = net->width, S = r->job->ctx->plan->nseg;
  m->net = net;
  m->L = L;
  m->Wd = Wd;
  m->c0 = net->cols[0];
  m->W = (T **)calloc((size_t)L + 1, sizeof(T *));
  m->b = (T **)calloc((size_t)L + 1, sizeof(T *));
  m->rho = (double *)malloc(sizeof(double) * (S + 1));
  double *hb = (double *)malloc(sizeof(double) * (size_t)(S + 1) * Wd);
  int rc = m->W && m->b && m->rho && hb ? RTK_OK : RTK_ERR(RTK_ERR_MEM, "out of memory");
  for (int l = 0; l <= L && !rc; l++) {
    rc = upload_as(&m->W[l], net->W[l], (size_t)net->rows[l] * net->cols[l]);
    if (!rc) rc = upload_as(&m->b[l], net->b[l], (size_t)net->rows[l]);
  }
  for (int k = 0; k <= S && !rc; k++) m->rho[k] = rtk_mlp_time_bias(net, r->times[k], hb + (size_t)k * Wd);
  if (!rc) rc = upload_as(&m->B0, hb, (size_t)(S + 1) * Wd);
  free(hb);
  RTK_CHECK(rc);
  RTK_CHECK(dalloc(&m->H, r->R * Wd));
  RTK_CHECK(dalloc(&m->H2, r->R * Wd));
  return RTK_OK;
}
template <class T> static int mlp_time(dev_run<T> *r, void *p, int k) {
  (void)r;
  ((mlp_dev<T> *)p)->k = k;
  return RTK_OK;
}
template <class T> static int mlp_eval(dev_run<T> *r, void *p, int logp) {
  mlp_dev<T> *m = (mlp_dev<T> *)p;
  if (logp) return RTK_ERR(RTK_ERR_RUNTIME, "score model mlp has no energy");
  const int d = r->d, Wd = m->Wd, L = m->L, G = RTK_CUDA_ROWS;
  const unsigned nh = blocks_for(r->n * Wd, 256);
  T *H = m->H, *H2 = m->H2;
  PHASE(r, PH_MODEL, {
    /* layer 0 on the x-columns of W_0 (leading dimension d + 2 nfreq): H^T = W_0[:, :d] X^T, + b_0(t) */
    for (size_t c0 = 0; c0 < r->R; c0 += G)
      CB(gemm(CUBLAS_OP_T, CUBLAS_OP_N, Wd, G, d, m->W[0], m->c0, r->Y + c0 * 2 * d + d, 2 * d, H + c0 * Wd, Wd));
    k_bias_silu<T><<<nh, 256, 0, g_stream>>>(r->n, Wd, r->off, m->B0 + (size_t)m->k * Wd, H);
    LAUNCHED();
    for (int l = 1; l < L; l++) {
      for (size_t c0 = 0; c0 < r->R; c0 += G)
        CB(gemm(CUBLAS_OP_T, CUBLAS_OP_N, Wd, G, Wd, m->W[l], Wd, H + c0 * Wd, Wd, H2 + c0 * Wd, Wd));
      k_bias_silu<T><<<nh, 256, 0, g_stream>>>(r->n, Wd, r->off, m->b[l], H2);
      LAUNCHED();
      T *tmp = H;
      H = H2;
      H2 = tmp;
    }
    for (size_t c0 = 0; c0 < r->R; c0 += G) /* the output into P1 (rows of 2d) */
      CB(gemm(CUBLAS_OP_T, CUBLAS_OP_N, d, G, Wd, m->W[L], Wd, H + c0 * Wd, Wd, r->P + c0 * 2 * d, 2 * d));
    k_mlp_out<T><<<blocks_for(r->n * d, 256), 256, 0, g_stream>>>(r->n, d, r->off, m->b[L], (T)m->rho[m->k], r->P);
    LAUNCHED();
  });
  return RTK_OK;
}

template <class T> static const dev_score<T> *dev_model(const char *name) {
  static const dev_score<T> models[] = {
      {"exact", ex_create<T>, ex_time<T>, ex_eval<T>, ex_destroy},
      {"perturbed", pert_create<T>, pert_time<T>, pert_eval<T>, pert_destroy<T>},
      {"mlp", mlp_create<T>, mlp_time<T>, mlp_eval<T>, mlp_destroy<T>},
  };
  for (size_t i = 0; i < sizeof models / sizeof models[0]; i++)
    if (!strcmp(models[i].name, name)) return &models[i];
  return nullptr;
}

/* the run's score model at grid time k, and its score of the rows in Y (samplers call these) */
template <class T> static int score_time(dev_run<T> *r, int k) { return r->sops->set_time(r, r->sm, k); }
template <class T> static int score_eval(dev_run<T> *r, int logp) { return r->sops->eval(r, r->sm, logp); }

/* histogram counts of rows off .. off+n-1 of X [][dim] into cnt [dim][nb+2] */
template <class T>
static int hist_launch(int64_t n, int dim, size_t off, const T *X, const double *lo, const double *hi, int nb,
                       unsigned long long *cnt) {
  const int nbin = nb + 2, maxJ = 40960 / (4 * nbin);
  if (maxJ >= 1) {
    for (int j0 = 0; j0 < dim; j0 += maxJ) {
      const int J = dim - j0 < maxJ ? dim - j0 : maxJ;
      unsigned nblk = blocks_for(n * J, 256);
      if (nblk > 2u * g_sms) nblk = 2u * g_sms; /* few blocks: each flushes its counters with global atomics */
      k_hist<T><<<nblk, 256, sizeof(unsigned) * J * nbin, g_stream>>>(n, dim, off, X, lo, hi, nb, j0, J, cnt);
      LAUNCHED();
    }
  } else {
    unsigned nblk = blocks_for(n * dim, 256);
    if (nblk > 4096) nblk = 4096;
    k_hist_global<T><<<nblk, 256, 0, g_stream>>>(n, dim, off, X, lo, hi, nb, cnt);
    LAUNCHED();
  }
  return RTK_OK;
}

/* boundary k: histogram counts on the device; the driver's hook (progress, and X if asked) */
template <class T> static int boundary(dev_run<T> *r, int k) {
  const rtk_dev_job *job = r->job;
  const int d = r->d;
  if (k < job->nbnd) {
    const int nb = job->bh[k].nbins, nbin = nb + 2;
    unsigned long long *cnt = r->dcount + (size_t)k * d * nbin;
    const double *lo = r->dlo + (size_t)k * d, *hi = r->dhi + (size_t)k * d;
    PHASE(r, PH_HIST, RTK_CHECK(hist_launch(r->n, d, r->off, r->X, lo, hi, nb, cnt)));
  }
  const rtk_block_ctx *ctx = job->ctx;
  if (!ctx->at_boundary) return RTK_OK;
  double *Xh = NULL;
  if (job->copy_boundaries) {
    PHASE(r, PH_COPY, {
      CU(cudaMemcpyAsync(r->hX, r->X + r->off * d, sizeof(T) * r->n * d, cudaMemcpyDeviceToHost, g_stream));
      CU(cudaStreamSynchronize(g_stream));
    });
    if (sizeof(T) == sizeof(double)) {
      Xh = (double *)r->hX;
    } else {
      for (size_t i = 0; i < (size_t)r->n * d; i++) job->X[i] = (double)r->hX[i];
      Xh = job->X;
    }
  }
  ctx->at_boundary(ctx->user, k, r->p0, (int)r->n, Xh);
  return RTK_OK;
}

#define CANCEL_CHECK(ctx) \
  if (RTK_CANCELLED(ctx)) return RTK_ERR(RTK_ERR_INTERRUPTED, "interrupted by a signal")

template <class T> static int run_exact(dev_run<T> *r) {
  const rtk_block_ctx *ctx = r->job->ctx;
  const rtk_mixture *m = r->mix;
  const double t = ctx->cfg->delta;
  CU(cudaMemcpyAsync(r->dw, m->w, sizeof(double) * m->K, cudaMemcpyHostToDevice, g_stream));
  CU(cudaMemcpyAsync(r->dmu, m->mu, sizeof(double) * m->K * m->d, cudaMemcpyHostToDevice, g_stream));
  CU(cudaMemcpyAsync(r->dvar, m->var, sizeof(double) * m->K * m->d, cudaMemcpyHostToDevice, g_stream));
  k_exact<T><<<blocks_for(r->n * r->nch, 256), 256, 0, g_stream>>>(r->n, r->d, r->nch, r->off, r->p0, ctx->seed,
                                                                    m->K, r->dw, r->dmu, r->dvar, rtk_alpha(t),
                                                                    rtk_sigma2(t), r->X);
  LAUNCHED();
  return boundary(r, 0);
}

template <class T> static size_t fused_smem(const dev_run<T> *r) { return sizeof(T) * (size_t)r->K * (2 * r->d + 1); }
/* the one-kernel ddpm step (k_ddpm_fused) for this shape?  d <= 32 and the coefficients of one time in 48 KiB
 * of shared memory; RTK_CUDA_FUSED=0 forces the GEMM path */
template <class T> static int fused_ok(const dev_run<T> *r) {
  const char *e = getenv("RTK_CUDA_FUSED");
  if (e && e[0] == '0') return 0;
  return r->sexact && r->tab && r->d <= 32 && fused_smem(r) <= 48 * 1024;
}

/* coefficients of the device's current step *dk from the table into the fixed buffers cuBLAS reads */
template <class T> __global__ void k_coef_copy(const T *tab, size_t stride, const int *dk, T *C1) {
  const T *src = tab + (size_t)*dk * stride;
  for (size_t e = (size_t)blockIdx.x * blockDim.x + threadIdx.x; e < stride; e += (size_t)gridDim.x * blockDim.x)
    C1[e] = src[e];
}
__global__ void k_step_next(int *dk) { ++*dk; }

/* one GEMM-path ddpm step with the step index and coefficients read on the device (dk, dcf), so that the same
 * captured graph serves every step: coefficients, score kernel, update, then the index moves on */
template <class T> static int ddpm_dev_step(dev_run<T> *r) {
  const rtk_block_ctx *ctx = r->job->ctx;
  k_coef_copy<T><<<blocks_for((int64_t)r->stride, 256) < 64 ? blocks_for((int64_t)r->stride, 256) : 64, 256, 0,
                   g_stream>>>(r->tab, r->stride, r->dk, r->C1);
  LAUNCHED();
  RTK_CHECK(mix_eval(r, 0));
  ZLAUNCH(k_ddpm<T, NZ><<<blocks_for(r->n * r->nch, 256), 256, 0, g_stream>>>(
      r->n, r->d, r->nch, r->off, r->p0, ctx->seed, 0, rtk_ddpm_coef{0, 0, 0}, r->X, r->P, r->Y, r->dk, r->dcf));
  LAUNCHED();
  k_step_next<<<1, 1, 0, g_stream>>>(r->dk);
  LAUNCHED();
  return RTK_OK;
}

/* the step graph?  Only for the GEMM path with the coefficient table on the device, not while profiling (phases
 * synchronise); RTK_CUDA_GRAPH=0 turns it off.  It replaces ~20 cuBLAS calls and 3 launches per step by one
 * graph launch: the host's cost per step no longer shows as device idle time. */
template <class T> static int graph_ok(const dev_run<T> *r) {
  const char *e = getenv("RTK_CUDA_GRAPH");
  if (e && e[0] == '0') return 0;
  return r->sexact && !r->prof && r->tab;
}

template <class T> static int run_ddpm(dev_run<T> *r, rtk_stats *st) {
  const rtk_block_ctx *ctx = r->job->ctx;
  const rtk_plan *p = ctx->plan;
  const int euler = ctx->cfg->variant == RTK_DDPM_EULER, fused = fused_ok(r), graph = !fused && graph_ok(r);
  const unsigned nb = blocks_for(r->n * r->nch, 256), nf = blocks_for(r->n, 256);
  const size_t sm = fused_smem(r);
  cudaGraphExec_t ge = nullptr;
  if (graph) { /* capture one step; every replay reads its step index from dk */
    rtk_ddpm_coef *h = (rtk_ddpm_coef *)malloc(sizeof *h * (p->nseg > 0 ? p->nseg : 1));
    if (!h) return RTK_ERR(RTK_ERR_MEM, "out of memory");
    for (int k = 0; k < p->nseg; k++) h[k] = rtk_ddpm_coefs(p->times[k] - p->times[k + 1], euler);
    cudaError_t ce = cudaMalloc((void **)&r->dcf, sizeof *h * (p->nseg > 0 ? p->nseg : 1));
    if (ce == cudaSuccess) ce = cudaMemcpy(r->dcf, h, sizeof *h * p->nseg, cudaMemcpyHostToDevice);
    free(h);
    CU(ce);
    RTK_CHECK(dalloc(&r->dk, 1));
    CU(cudaStreamBeginCapture(g_stream, cudaStreamCaptureModeThreadLocal));
    const cublasHandle_t main_blas = g_blas;
    g_blas = g_blas_cap;
    const int rc = ddpm_dev_step(r);
    g_blas = main_blas;
    cudaGraph_t gr = nullptr;
    ce = cudaStreamEndCapture(g_stream, &gr); /* always: the stream leaves capture mode */
    if (!rc && ce == cudaSuccess) ce = cudaGraphInstantiate(&ge, gr, 0);
    if (gr) cudaGraphDestroy(gr);
    RTK_CHECK(rc);
    CU(ce);
  }
  int rc = boundary(r, 0);
  for (int k = 0; k < p->nseg && !rc; k++) {
    if (RTK_CANCELLED(ctx)) {
      rc = RTK_ERR(RTK_ERR_INTERRUPTED, "interrupted by a signal");
      break;
    }
    if (!rc) rc = seg_begin(r, k);
    if (rc) break;
    const rtk_ddpm_coef cf = rtk_ddpm_coefs(p->times[k] - p->times[k + 1], euler);
    if (graph) {
      if (cudaGraphLaunch(ge, g_stream) != cudaSuccess) rc = RTK_ERR(RTK_ERR_RUNTIME, "CUDA: ddpm step graph launch failed");
    } else if (fused) {
      const T *tb = r->tab + (size_t)k * r->stride, *C2 = tb + (size_t)r->K * 2 * r->d, *c = tb + (size_t)r->K * 4 * r->d;
      const int64_t n = r->n;
      const int d = r->d, K = r->K;
      auto launch = [&]() -> int {
        ZLAUNCH(if (d <= 4) k_ddpm_fused<T, 4, NZ><<<nf, 256, sm, g_stream>>>(n, d, K, r->off, r->p0, ctx->seed, k, cf, C2, c, r->X);
                else if (d <= 8) k_ddpm_fused<T, 8, NZ><<<nf, 256, sm, g_stream>>>(n, d, K, r->off, r->p0, ctx->seed, k, cf, C2, c, r->X);
                else if (d <= 16) k_ddpm_fused<T, 16, NZ><<<nf, 256, sm, g_stream>>>(n, d, K, r->off, r->p0, ctx->seed, k, cf, C2, c, r->X);
                else k_ddpm_fused<T, 32, NZ><<<nf, 256, sm, g_stream>>>(n, d, K, r->off, r->p0, ctx->seed, k, cf, C2, c, r->X));
        LAUNCHED();
        return RTK_OK;
      };
      PHASE(r, PH_UPDATE, rc = launch());
    } else {
      rc = score_time(r, k);
      if (!rc) rc = score_eval(r, 0);
      if (!rc)
        PHASE(r, PH_UPDATE, {
          ZLAUNCH(k_ddpm<T, NZ><<<nb, 256, 0, g_stream>>>(r->n, r->d, r->nch, r->off, r->p0, ctx->seed, k, cf, r->X, r->P,
                                                         r->Y, nullptr, nullptr));
          if (cudaGetLastError() != cudaSuccess) rc = RTK_ERR(RTK_ERR_RUNTIME, "CUDA: k_ddpm launch failed");
        });
    }
    if (rc) break;
    st->nfe[k] += r->n;
    rc = seg_end(r, st);
    if (!rc) rc = boundary(r, k + 1);
  }
  if (ge) cudaGraphExecDestroy(ge); /* a launched graph finishes first (the stream orders what follows) */
  return rc;
}

/* ddim (general = 0, order2 = 0), dpm-solver++ 2M (0, 1), 3M / SDE (1, -) */
template <class T> static int run_ode(dev_run<T> *r, rtk_stats *st, int general, int order2) {
  const rtk_block_ctx *ctx = r->job->ctx;
  const rtk_plan *p = ctx->plan;
  const unsigned nb = blocks_for(r->n * r->nch, 256);
  double h1 = 0, h2 = 0;
  RTK_CHECK(boundary(r, 0));
  for (int k = 0; k < p->nseg; k++) {
    CANCEL_CHECK(ctx);
    RTK_CHECK(seg_begin(r, k));
    rtk_ode_step c;
    const double h = rtk_ode_step_coefs(ctx->cfg, p, k, general, order2, h1, h2, &c);
    RTK_CHECK(score_time(r, k));
    RTK_CHECK(score_eval(r, 0));
    PHASE(r, PH_UPDATE, {
      ZLAUNCH(k_ode<T, NZ><<<nb, 256, 0, g_stream>>>(r->n, r->d, r->nch, r->off, r->p0, ctx->seed, k, c, r->X, r->P, r->D,
                                                    r->D1, r->D2, r->Y));
      LAUNCHED();
    });
    T *tmp = r->D2; /* D_2 <- D_1 <- D */
    r->D2 = r->D1;
    r->D1 = r->D;
    r->D = tmp;
    h2 = h1;
    h1 = h;
    st->nfe[k] += r->n;
    RTK_CHECK(seg_end(r, st));
    RTK_CHECK(boundary(r, k + 1));
  }
  return RTK_OK;
}

/* the inner MALA chain of segment k from Z (rtk-mala, or rtk-mala-score if score_only; sampler_rtk.c
 * eval_segment, mala_steps and score_energy_diff): the chain's start is evaluated, then every inner step
 * proposes, evaluates (+ the quadrature's interior nodes) and accepts or rejects */
template <class T>
static int mala_inner(dev_run<T> *r, rtk_stats *st, int k, int score_only, double e, double q, double tau) {
  const rtk_block_ctx *ctx = r->job->ctx;
  const rtk_plan *p = ctx->plan;
  const rtk_sampler_cfg *cfg = ctx->cfg;
  const int64_t n = r->n;
  const unsigned nb = blocks_for(n * r->nch, 256), ng = blocks_for(n * r->tpp, 256);
  const int adaptive = cfg->step_mode == RTK_STEP_ADAPTIVE;
  const int nodes = score_only ? rtk_quad_count(cfg->quad, (int)cfg->quad_nodes) : 0;
  double gx[32], gw[32];
  if (score_only && cfg->quad == RTK_QUAD_GAUSS) rtk_gauss_legendre(nodes, gx, gw);
  mala_args a;
  memset(&a, 0, sizeof a);
  a.n = n;
  a.p0 = r->p0;
  a.off = r->off;
  a.seed = ctx->seed;
  a.d = r->d;
  a.nch = r->nch;
  a.tpp = r->tpp;
  a.k = k;
  a.e = e;
  a.q = q;
  a.tau = tau;
  a.r2 = cfg->radius * cfg->radius;
  a.score_only = score_only;
  a.rule = cfg->quad;
  a.nwarm = adaptive ? p->warmup[k] : 0;
  a.target = cfg->target_accept;
  a.mu = log(10 * tau);
  double *taus = adaptive ? r->taus : nullptr, *hbar = adaptive ? r->hbar : nullptr, *ltbar = adaptive ? r->ltbar : nullptr;
  unsigned char *pass = a.r2 > 0 ? r->pass : nullptr;
  PHASE(r, PH_UPDATE, {
    if (adaptive) {
      k_adapt_init<<<blocks_for(n, 256), 256, 0, g_stream>>>(n, r->off, tau, taus, hbar, ltbar);
      LAUNCHED();
    }
  });
  RTK_CHECK(score_eval(r, !score_only));
  PHASE(r, PH_UPDATE, {
    k_seg_eval<T><<<ng, 256, 0, g_stream>>>(n, r->d, r->nch, r->tpp, r->off, e, q, r->X, r->Z, r->P, r->lp, r->S,
                                            r->G, score_only ? nullptr : r->g);
    LAUNCHED();
  });
  st->nfe[k] += n;
  for (int m = 0; m < p->inner[k]; m++) {
    CANCEL_CHECK(ctx);
    a.m = m;
    PHASE(r, PH_UPDATE, {
      ZLAUNCH(if (pass) k_propose_r<T, NZ><<<ng, 256, 0, g_stream>>>(a, taus, r->Z, r->G, r->Zp, r->Y, pass, r->dpass + k);
              else k_propose<T, NZ><<<nb, 256, 0, g_stream>>>(a, taus, r->Z, r->G, r->Zp, r->Y));
      LAUNCHED();
    });
    RTK_CHECK(score_eval(r, !score_only));
    if (score_only) {
      double aq = -1, wq = 0, an = -1, wn = 0;
      if (nodes) rtk_quad_node(cfg->quad, 0, gx, gw, &an, &wn);
      PHASE(r, PH_UPDATE, {
        k_quad_ends<T><<<ng, 256, 0, g_stream>>>(a, an, r->Z, r->S, r->Zp, r->P, r->Sp, r->df, r->Y);
        LAUNCHED();
      });
      for (int qn = 0; qn < nodes; qn++) {
        aq = an;
        wq = wn;
        an = -1;
        if (qn + 1 < nodes) rtk_quad_node(cfg->quad, qn + 1, gx, gw, &an, &wn);
        RTK_CHECK(score_eval(r, 0));
        PHASE(r, PH_UPDATE, {
          k_quad_node<T><<<ng, 256, 0, g_stream>>>(a, aq, wq, an, r->Z, r->Zp, r->P, r->df, r->Y);
          LAUNCHED();
        });
      }
    }
    PHASE(r, PH_UPDATE, {
      k_accept<T><<<ng, 256, 0, g_stream>>>(a, r->X, r->Zp, r->P, r->lp, r->Sp, r->df, pass, taus, hbar, ltbar, r->Z,
                                            r->G, r->S, r->g, r->dacc + k);
      LAUNCHED();
    });
    if (!pass) st->nfe[k] += n * (1 + nodes); /* with the radius: the passes, counted on the device */
    st->propose[k] += n;
  }
  return RTK_OK;
}

/* pc: M Langevin corrector moves at t_k, then ddpm's predictor t_k -> t_{k+1}; (1 + M) NFE per step */
template <class T> static int run_pc(dev_run<T> *r, rtk_stats *st) {
  const rtk_block_ctx *ctx = r->job->ctx;
  const rtk_plan *p = ctx->plan;
  const int M = (int)ctx->cfg->corrector_steps;
  const double snr = ctx->cfg->snr;
  const unsigned nb = blocks_for(r->n * r->nch, 256);
  RTK_CHECK(boundary(r, 0));
  for (int k = 0; k < p->nseg; k++) {
    CANCEL_CHECK(ctx);
    RTK_CHECK(seg_begin(r, k));
    const double t = p->times[k], h = t - p->times[k + 1];
    const double eps = 2 * snr * snr * rtk_sigma2(t), sdc = sqrt(2 * eps);
    const rtk_ddpm_coef cf = rtk_ddpm_coefs(h, 0);
    RTK_CHECK(score_time(r, k));
    for (int m = 0; m <= M; m++) { /* m = M: the predictor */
      RTK_CHECK(score_eval(r, 0));
      PHASE(r, PH_UPDATE, {
        ZLAUNCH(k_pc<T, NZ><<<nb, 256, 0, g_stream>>>(r->n, r->d, r->nch, r->off, r->p0, ctx->seed, k, m, m == M, eps,
                                                     sdc, cf, r->X, r->P, r->Y));
        LAUNCHED();
      });
    }
    st->nfe[k] += r->n * (1 + M);
    RTK_CHECK(seg_end(r, st));
    RTK_CHECK(boundary(r, k + 1));
  }
  return RTK_OK;
}

/* heun (EDM Algorithm 1; s_churn = 0): Euler then Heun's correction per step, the last step Euler only */
template <class T> static int run_heun(dev_run<T> *r, rtk_stats *st) {
  const rtk_block_ctx *ctx = r->job->ctx;
  const rtk_plan *p = ctx->plan;
  const int S = p->nseg;
  const unsigned nb = blocks_for(r->n * r->nch, 256);
#define HEUN(phase, last, at, as, e, e2)                                                                          \
  PHASE(r, PH_UPDATE, {                                                                                          \
    k_heun<T><<<nb, 256, 0, g_stream>>>(r->n, r->d, r->nch, r->off, r->p0, phase, last, at, as, e, e2, r->X, r->Z, \
                                        r->Zp, r->P, r->Y);                                                      \
    LAUNCHED();                                                                                                  \
  })
  RTK_CHECK(boundary(r, 0));
  for (int k = 0; k < S; k++) {
    CANCEL_CHECK(ctx);
    RTK_CHECK(seg_begin(r, k));
    const double t = p->times[k], s = p->times[k + 1], sig_i = rtk_ve_sigma(t), sig_n = rtk_ve_sigma(s);
    const double at = rtk_alpha(t), as = rtk_alpha(s), e = -(sig_n - sig_i) * sqrt(rtk_sigma2(t));
    const double e2 = -0.5 * (sig_n - sig_i) * sqrt(rtk_sigma2(s));
    const int last = k + 1 == S;
    HEUN(0, last, at, as, e, e2);
    RTK_CHECK(score_time(r, k));
    RTK_CHECK(score_eval(r, 0));
    HEUN(1, last, at, as, e, e2);
    if (!last) {
      RTK_CHECK(score_time(r, k + 1));
      RTK_CHECK(score_eval(r, 0));
      HEUN(2, last, at, as, e, e2);
    }
    st->nfe[k] += r->n * (last ? 1 : 2);
    RTK_CHECK(seg_end(r, st));
    RTK_CHECK(boundary(r, k + 1));
  }
#undef HEUN
  return RTK_OK;
}

/* RTK segments: MALA (exact energy, kind 0; score only, kind 3), ULA (1) or ULD (2) inner chains */
template <class T> static int run_rtk(dev_run<T> *r, rtk_stats *st, int kind) {
  const rtk_block_ctx *ctx = r->job->ctx;
  const rtk_plan *p = ctx->plan;
  const rtk_sampler_cfg *cfg = ctx->cfg;
  const int init = cfg->init, d = r->d, nch = r->nch, mala = kind == 0 || kind == 3;
  const unsigned nb = blocks_for(r->n * nch, 256);
  const int64_t n = r->n;
  int have_score = 0;
  RTK_CHECK(boundary(r, 0));
  for (int k = 0; k < p->nseg; k++) {
    CANCEL_CHECK(ctx);
    RTK_CHECK(seg_begin(r, k));
    const double h = p->times[k] - p->times[k + 1];
    const double e = exp(-h), q = -expm1(-2 * h), tau = p->tau[k];
    if (init == RTK_INIT_DDPM && !have_score) { /* s_tf(x'): Y holds X's rows (k_init, or the last inner step) */
      RTK_CHECK(score_time(r, k));
      RTK_CHECK(score_eval(r, 0));
      PHASE(r, PH_UPDATE, {
        k_score<T><<<nb, 256, 0, g_stream>>>(n, d, nch, r->off, r->p0, r->X, r->P, r->S);
        LAUNCHED();
      });
      st->nfe[k] += n;
      have_score = 1;
    }
    PHASE(r, PH_UPDATE, {
      ZLAUNCH(k_seg_init<T, NZ><<<nb, 256, 0, g_stream>>>(n, d, nch, r->off, r->p0, ctx->seed, k, init, have_score,
                                                         exp(h), 2 * expm1(h), sqrt(expm1(2 * h)), r->X, r->S, r->Z,
                                                         r->Y));
      LAUNCHED();
    });
    RTK_CHECK(score_time(r, k + 1));
    if (mala) {
      RTK_CHECK(mala_inner(r, st, k, kind == 3, e, q, tau));
    } else {
      const double gam = cfg->step_mode == RTK_STEP_ABSOLUTE ? cfg->gamma : cfg->gamma * sqrt(cfg->step / tau);
      const rtk_uld_coef uc = rtk_uld_coefs(gam, tau);
      if (kind == 2) {
        ZLAUNCH(k_velocity<T, NZ><<<nb, 256, 0, g_stream>>>(n, d, nch, r->off, r->p0, ctx->seed, k, r->V));
        LAUNCHED();
      }
      const int nwarm = p->warmup[k];
      mala_args a; /* step_mode = adaptive: the per-particle secant warm-up (k_langevin_adapt) */
      memset(&a, 0, sizeof a);
      a.n = n;
      a.p0 = r->p0;
      a.off = r->off;
      a.seed = ctx->seed;
      a.d = d;
      a.nch = nch;
      a.tpp = r->tpp;
      a.k = k;
      a.e = e;
      a.q = q;
      a.tau = tau;
      a.nwarm = nwarm;
      if (nwarm > 0) {
        k_adapt_init<<<blocks_for(n, 256), 256, 0, g_stream>>>(n, r->off, tau, r->taus, r->lcurv, r->lcurv);
        LAUNCHED();
      }
      for (int m = 0; m < p->inner[k]; m++) {
        CANCEL_CHECK(ctx);
        RTK_CHECK(score_eval(r, 0));
        a.m = m;
        if (nwarm > 0) {
          PHASE(r, PH_UPDATE, {
            ZLAUNCH(k_langevin_adapt<T, NZ><<<blocks_for(n * r->tpp, 256), 256, 0, g_stream>>>(
                a, kind == 2, gam, cfg->step, r->X, r->P, r->Z, r->V, r->Zp, r->G, r->taus, r->lcurv, r->Y));
            LAUNCHED();
          });
          st->nfe[k] += n;
          continue;
        }
        PHASE(r, PH_UPDATE, {
          ZLAUNCH(k_langevin<T, NZ><<<nb, 256, 0, g_stream>>>(n, d, nch, r->off, r->p0, ctx->seed, k, m, kind == 2, e, q,
                                                             tau, uc, r->X, r->P, r->Z, r->V, r->Y));
          LAUNCHED();
        });
        st->nfe[k] += n;
      }
    }
    T *tmp = r->X; /* the chain's last state is the particle; the old x' buffer becomes the next chain's */
    r->X = r->Z;
    r->Z = tmp;
    have_score = mala; /* MALA: S = s_tt(X), the next segment's s_tf(x'); ULA/ULD pay it again */
    RTK_CHECK(seg_end(r, st));
    RTK_CHECK(boundary(r, k + 1));
  }
  return RTK_OK;
}


/* device buffers of the final-sample diagnostics */
struct diag_bufs {
  double *lo, *hi, *U, *Yp, *slo, *shi, *fmean, *Q, *G;
  unsigned long long *cnt, *modes, *scnt, *m1, *m2, *fs1, *fs2;
};
static void diag_bufs_free(diag_bufs *b) {
  void *p[] = {b->lo, b->hi, b->U, b->Yp, b->slo, b->shi, b->fmean, b->Q, b->G,
               b->cnt, b->modes, b->scnt, b->m1, b->m2, b->fs1, b->fs2};
  for (size_t i = 0; i < sizeof p / sizeof p[0]; i++) cudaFree(p[i]);
}
/* n unsigned device counters added into the host's int64 array */
static int add_back(int64_t *h, const unsigned long long *dv, size_t n) {
  unsigned long long *t = (unsigned long long *)malloc(sizeof *t * (n ? n : 1));
  if (!t) return RTK_ERR(RTK_ERR_MEM, "out of memory");
  const cudaError_t ce = cudaMemcpy(t, dv, sizeof *t * n, cudaMemcpyDeviceToHost);
  if (ce == cudaSuccess)
    for (size_t i = 0; i < n; i++) h[i] += (int64_t)t[i];
  free(t);
  CU(ce);
  return RTK_OK;
}
static int upload(double **dp, const double *h, size_t n) {
  RTK_CHECK(dalloc(dp, n));
  CU(cudaMemcpyAsync(*dp, h, sizeof(double) * n, cudaMemcpyHostToDevice, g_stream));
  return RTK_OK;
}

/* the final-sample diagnostics of job->diag on the final particles r->X (docs/design.md): the same integers
 * the host would add (histogram bins by rtk_hist_bin, rtk_fixed, rtk_fd_quant; the Fréchet products by a GEMM
 * on integer-valued doubles whose sums stay below 2^53, hence exact in any order).  Mode assignment and the
 * sliced projections are rounded differently from the host's BLAS (a particle within rounding of a tie or of
 * a bin edge may land on the other side), but in a fixed order per particle: rank-count independent. */
template <class T> static int final_diag_run(dev_run<T> *r, rtk_dev_diag *g, diag_bufs *b) {
  const int64_t n = r->n;
  const int d = r->d, K = r->K, S = r->job->ctx->plan->nseg;
  const size_t off = r->off;
  /* rows per chunk of the sliced projections and the Fréchet quantisation (RTK_CUDA_DIAG_ROWS: tests) */
  const char *ce = getenv("RTK_CUDA_DIAG_ROWS");
  const int64_t rows = ce ? strtoll(ce, NULL, 10) : 0;
  if (g->hist) {
    const rtk_hist *h = g->hist;
    RTK_CHECK(upload(&b->lo, h->lo, d));
    RTK_CHECK(upload(&b->hi, h->hi, d));
    RTK_CHECK(dalloc(&b->cnt, (size_t)d * (h->nbins + 2)));
    RTK_CHECK(hist_launch(n, d, off, r->X, b->lo, b->hi, h->nbins, b->cnt));
  }
  if (g->modes) { /* logits at the final time: Y from X, then the score kernel's first GEMM */
    RTK_CHECK(dalloc(&b->modes, (size_t)K));
    k_fill_y<T><<<blocks_for(n * d, 256), 256, 0, g_stream>>>(n, d, off, r->X, r->Y);
    LAUNCHED();
    RTK_CHECK(mix_time(r, S)); /* the target's coefficients, whatever the score model */
    for (size_t c0 = 0; c0 < r->R; c0 += RTK_CUDA_ROWS)
      CB(gemm(CUBLAS_OP_N, CUBLAS_OP_N, K, RTK_CUDA_ROWS, 2 * d, r->C1, K, r->Y + c0 * 2 * d, 2 * d, r->L + c0 * K, K));
    k_argmax<T><<<blocks_for(n * 32, 256), 256, 0, g_stream>>>(n, K, off, r->L, r->c, b->modes);
    LAUNCHED();
  }
  if (g->shist) {
    const rtk_hist *h = g->shist;
    const int ns = g->ns;
    RTK_CHECK(upload(&b->U, g->U, (size_t)ns * d));
    RTK_CHECK(upload(&b->slo, h->lo, ns));
    RTK_CHECK(upload(&b->shi, h->hi, ns));
    int64_t CS = rows > 0 ? rows : ((int64_t)1 << 24) / ns; /* rows per chunk: Yp at most ~2^24 values */
    if (CS < 1) CS = 1;
    if (CS > n) CS = n;
    RTK_CHECK(dalloc(&b->Yp, (size_t)CS * ns));
    RTK_CHECK(dalloc(&b->scnt, (size_t)ns * (h->nbins + 2)));
    for (int64_t c0 = 0; c0 < n; c0 += CS) {
      const int64_t m = n - c0 < CS ? n - c0 : CS;
      k_project<T><<<blocks_for(m * ns, 256), 256, 0, g_stream>>>(m, d, ns, off + (size_t)c0, r->X, b->U, b->Yp);
      LAUNCHED();
      RTK_CHECK(hist_launch(m, ns, 0, b->Yp, b->slo, b->shi, h->nbins, b->scnt));
    }
  }
  if (g->m1) {
    RTK_CHECK(dalloc(&b->m1, (size_t)d));
    RTK_CHECK(dalloc(&b->m2, g->full_cov ? (size_t)d * d : (size_t)d));
  }
  /* particles in chunks of CH rows (a multiple of 4096, Q at most ~2^24 values) */
  int64_t CH = (rows > 0 ? rows : ((int64_t)1 << 24) / d) / 4096 * 4096;
  if (CH < 4096) CH = 4096;
  if (g->fs1) {
    RTK_CHECK(upload(&b->fmean, g->fmean, d));
    RTK_CHECK(dalloc(&b->fs1, (size_t)d));
    RTK_CHECK(dalloc(&b->fs2, (size_t)d * d));
    RTK_CHECK(dalloc(&b->Q, (size_t)(n < CH ? n : CH) * d));
    RTK_CHECK(dalloc(&b->G, (size_t)d * d));
  }
  for (int64_t c0 = 0; c0 < n && (g->m1 || g->fs1); c0 += CH) {
    const int64_t m = n - c0 < CH ? n - c0 : CH;
    const int P = 2048;
    k_colsums<T><<<blocks_for((int64_t)d * P, 256), 256, 0, g_stream>>>(m, d, P, off + (size_t)c0, r->X, b->m1,
                                                                         g->m1 && !g->full_cov ? b->m2 : nullptr,
                                                                         b->fmean, b->fs1, b->Q);
    LAUNCHED();
    for (int64_t q0 = 0; q0 < m && g->fs1; q0 += 4096) { /* 4096 rows of |q| <= 2^20: partial sums < 2^52, exact */
      const int mq = (int)(m - q0 < 4096 ? m - q0 : 4096);
      CB(gemm(CUBLAS_OP_N, CUBLAS_OP_T, d, d, mq, b->Q + (size_t)q0 * d, d, b->Q + (size_t)q0 * d, d, b->G, d));
      k_add_gram<<<blocks_for((int64_t)d * d, 256), 256, 0, g_stream>>>(d, b->G, b->fs2);
      LAUNCHED();
    }
  }
  if (g->m1 && g->full_cov) {
    const int P = 256;
    k_cov_fixed<T><<<blocks_for((int64_t)d * d * P, 256), 256, 0, g_stream>>>(n, d, P, off, r->X, b->m2);
    LAUNCHED();
  }
  CU(cudaStreamSynchronize(g_stream));
  if (g->hist) RTK_CHECK(add_back(g->hist->count, b->cnt, (size_t)d * (g->hist->nbins + 2)));
  if (g->modes) RTK_CHECK(add_back(g->modes, b->modes, (size_t)K));
  if (g->shist) RTK_CHECK(add_back(g->shist->count, b->scnt, (size_t)g->ns * (g->shist->nbins + 2)));
  if (g->m1) {
    RTK_CHECK(add_back(g->m1, b->m1, (size_t)d));
    RTK_CHECK(add_back(g->m2, b->m2, g->full_cov ? (size_t)d * d : (size_t)d));
  }
  if (g->fs1) {
    RTK_CHECK(add_back(g->fs1, b->fs1, (size_t)d));
    RTK_CHECK(add_back(g->fs2, b->fs2, (size_t)d * d));
  }
  return RTK_OK;
}
template <class T> static int final_diag(dev_run<T> *r, rtk_dev_diag *g) {
  diag_bufs b;
  memset(&b, 0, sizeof b);
  const int rc = final_diag_run(r, g, &b);
  cudaStreamSynchronize(g_stream); /* nothing still reads the buffers */
  diag_bufs_free(&b);
  return rc;
}

template <class T> static int run_typed(const rtk_dev_job *job, rtk_stats *st, dev_run<T> *r) {
  const rtk_block_ctx *ctx = job->ctx;
  const rtk_mixture *mix = ctx->mix;
  const rtk_sampler_ops *s = job->sampler;
  const int d = mix->d, K = mix->K, S = ctx->plan->nseg;
  const int64_t G = RTK_CUDA_ROWS;
  r->job = job;
  r->mix = mix;
  r->d = d;
  r->K = K;
  r->n = job->n;
  r->p0 = job->p0;
  r->times = ctx->plan->times;
  r->nch = (d + 3) / 4;
  r->tpp = 1;
  while (r->tpp < r->nch && r->tpp < 32) r->tpp *= 2;
  const char *pe = getenv("RTK_CUDA_PROFILE");
  r->prof = pe && pe[0] == '1';
  for (int i = 0; i < 64; i++) {
    CU(cudaEventCreate(&r->ev0[i]));
    CU(cudaEventCreate(&r->ev1[i]));
  }
  CU(cudaEventCreate(&r->pa));
  CU(cudaEventCreate(&r->pb));
  r->have_ev = 1;
  const int64_t base = job->p0 / G * G, end = (job->p0 + job->n + G - 1) / G * G;
  r->R = (size_t)(end - base);
  r->off = (size_t)(job->p0 - base);
  const size_t R = r->R;
  const int mala = s == &rtk_sampler_rtk_mala || s == &rtk_sampler_rtk_mala_score;
  const int exact = s == &rtk_sampler_exact, rtk = mala || s == &rtk_sampler_rtk_ula || s == &rtk_sampler_rtk_uld;
  const int ode = s == &rtk_sampler_ddim || s == &rtk_sampler_dpmpp2m;
  RTK_CHECK(dalloc(&r->X, R * d));
  if (!exact || (job->diag && job->diag->modes)) { /* exact: the mode assignment's GEMM needs them too */
    RTK_CHECK(dalloc(&r->Y, R * 2 * d));
    RTK_CHECK(dalloc(&r->L, R * K));
    RTK_CHECK(dalloc(&r->P, R * 2 * d));
    RTK_CHECK(rtk_mixcoef_init(mix, &r->coef));
    RTK_CHECK(coef_table(r, S + 1));
    RTK_CHECK(dalloc(&r->C1, (size_t)K * 4 * d + K)); /* C1, C2, c contiguous: one copy from the table */
    r->C2 = r->C1 + (size_t)K * 2 * d;
    r->c = r->C1 + (size_t)K * 4 * d;
    if (!r->tab) {
      RTK_CHECK(halloc(&r->hC1, (size_t)K * 2 * d));
      RTK_CHECK(halloc(&r->hC2, (size_t)K * 2 * d));
      RTK_CHECK(halloc(&r->hc, K));
    }
  }
  if (s == &rtk_sampler_heun) { /* the VE states y and y' */
    RTK_CHECK(dalloc(&r->Z, R * d));
    RTK_CHECK(dalloc(&r->Zp, R * d));
  }
  if (rtk) {
    RTK_CHECK(dalloc(&r->Z, R * d));
    RTK_CHECK(dalloc(&r->S, R * d));
    if (mala) {
      const rtk_sampler_cfg *cfg = ctx->cfg;
      RTK_CHECK(dalloc(&r->Zp, R * d));
      RTK_CHECK(dalloc(&r->G, R * d));
      RTK_CHECK(dalloc(&r->lp, R));
      RTK_CHECK(dalloc(&r->g, R));
      if (s == &rtk_sampler_rtk_mala_score) {
        RTK_CHECK(dalloc(&r->Sp, R * d));
        RTK_CHECK(dalloc(&r->df, R));
      }
      if (cfg->step_mode == RTK_STEP_ADAPTIVE) {
        RTK_CHECK(dalloc(&r->taus, R));
        RTK_CHECK(dalloc(&r->hbar, R));
        RTK_CHECK(dalloc(&r->ltbar, R));
      }
      if (cfg->radius > 0) {
        RTK_CHECK(dalloc(&r->pass, R));
        RTK_CHECK(dalloc(&r->dpass, (size_t)(S > 0 ? S : 1)));
        r->nfe_pass = 1 + (s == &rtk_sampler_rtk_mala_score ? rtk_quad_count(cfg->quad, (int)cfg->quad_nodes) : 0);
      }
    }
    if (s == &rtk_sampler_rtk_uld) RTK_CHECK(dalloc(&r->V, R * d));
    if (!mala && ctx->cfg->step_mode == RTK_STEP_ADAPTIVE) { /* ULA/ULD warm-up: previous state (Zp, G), steps */
      RTK_CHECK(dalloc(&r->Zp, R * d));
      RTK_CHECK(dalloc(&r->G, R * d));
      RTK_CHECK(dalloc(&r->taus, R));
      RTK_CHECK(dalloc(&r->lcurv, R));
    }
  }
  if (ode) {
    RTK_CHECK(dalloc(&r->D, R * d));
    RTK_CHECK(dalloc(&r->D1, R * d));
    RTK_CHECK(dalloc(&r->D2, R * d));
  }
  if (exact) {
    RTK_CHECK(dalloc(&r->dw, (size_t)K));
    RTK_CHECK(dalloc(&r->dmu, (size_t)K * d));
    RTK_CHECK(dalloc(&r->dvar, (size_t)K * d));
  }
  RTK_CHECK(dalloc(&r->dacc, (size_t)(S > 0 ? S : 1)));
  if (job->nbnd > 0) {
    const int nbin = job->bh[0].nbins + 2;
    RTK_CHECK(dalloc(&r->dlo, (size_t)job->nbnd * d));
    RTK_CHECK(dalloc(&r->dhi, (size_t)job->nbnd * d));
    RTK_CHECK(dalloc(&r->dcount, (size_t)job->nbnd * d * nbin));
    for (int k = 0; k < job->nbnd; k++) {
      CU(cudaMemcpyAsync(r->dlo + (size_t)k * d, job->bh[k].lo, sizeof(double) * d, cudaMemcpyHostToDevice, g_stream));
      CU(cudaMemcpyAsync(r->dhi + (size_t)k * d, job->bh[k].hi, sizeof(double) * d, cudaMemcpyHostToDevice, g_stream));
    }
  }
  if (job->copy_boundaries || (sizeof(T) != sizeof(double) && job->copy_rows > 0))
    RTK_CHECK(halloc(&r->hX, (size_t)job->n * d));
  if (!exact) { /* the score model (the exact sampler evaluates none) */
    const char *sn = ctx->score ? ctx->score->ops->name : "exact";
    r->sops = dev_model<T>(sn);
    if (!r->sops) return RTK_ERR(RTK_ERR_INPUT, "score.model = %s has no cuda version", sn);
    r->sexact = !strcmp(sn, "exact");
    const rtk_score own = {&rtk_score_exact, (void *)mix};
    RTK_CHECK(r->sops->create(r, ctx->score ? ctx->score : &own, &r->sm));
  }
  if (!exact) {
    ZLAUNCH(k_init<T, NZ><<<blocks_for(r->n * r->nch, 256), 256, 0, g_stream>>>(r->n, d, r->nch, r->off, r->p0,
                                                                                ctx->seed, r->X, r->Y));
    LAUNCHED();
  }
  if (exact) RTK_CHECK(run_exact(r));
  else if (s == &rtk_sampler_ddpm) RTK_CHECK(run_ddpm(r, st));
  else if (s == &rtk_sampler_ddim) RTK_CHECK(run_ode(r, st, 0, 0));
  else if (s == &rtk_sampler_pc) RTK_CHECK(run_pc(r, st));
  else if (s == &rtk_sampler_heun) RTK_CHECK(run_heun(r, st));
  else if (s == &rtk_sampler_dpmpp2m) RTK_CHECK(run_ode(r, st, ctx->cfg->order == 3 || ctx->cfg->sde, 1));
  else
    RTK_CHECK(run_rtk(r, st,
                      s == &rtk_sampler_rtk_mala         ? 0
                      : s == &rtk_sampler_rtk_ula        ? 1
                      : s == &rtk_sampler_rtk_mala_score ? 3
                                                         : 2));
  RTK_CHECK(seg_flush(r, st));
  if (job->diag) RTK_CHECK(final_diag(r, job->diag));
  /* results back: the final particles the driver asked for (the first copy_rows), acceptance counters,
   * boundary histograms */
  const int64_t nx = job->copy_rows < 0 ? 0 : job->copy_rows < r->n ? job->copy_rows : r->n;
  if (nx > 0 && sizeof(T) == sizeof(double)) {
    CU(cudaMemcpyAsync(job->X, r->X + r->off * d, sizeof(double) * nx * d, cudaMemcpyDeviceToHost, g_stream));
  } else if (nx > 0) {
    CU(cudaMemcpyAsync(r->hX, r->X + r->off * d, sizeof(T) * nx * d, cudaMemcpyDeviceToHost, g_stream));
  }
  unsigned long long *acc = (unsigned long long *)calloc((size_t)(S > 0 ? S : 1), sizeof *acc);
  if (!acc) return RTK_ERR(RTK_ERR_MEM, "out of memory");
  cudaError_t ce = cudaMemcpyAsync(acc, r->dacc, sizeof *acc * (S > 0 ? S : 1), cudaMemcpyDeviceToHost, g_stream);
  if (ce == cudaSuccess) ce = cudaStreamSynchronize(g_stream);
  for (int k = 0; k < S && ce == cudaSuccess; k++) st->accept[k] += (int64_t)acc[k];
  if (r->dpass && ce == cudaSuccess) { /* MALA with a radius: NFE of the passed proposals */
    ce = cudaMemcpy(acc, r->dpass, sizeof *acc * (S > 0 ? S : 1), cudaMemcpyDeviceToHost);
    for (int k = 0; k < S && ce == cudaSuccess; k++) st->nfe[k] += (int64_t)acc[k] * r->nfe_pass;
  }
  free(acc);
  CU(ce);
  if (sizeof(T) != sizeof(double))
    for (size_t i = 0; i < (size_t)nx * d; i++) job->X[i] = (double)r->hX[i];
  if (job->nbnd > 0) {
    const int nbin = job->bh[0].nbins + 2;
    const size_t nc = (size_t)d * nbin;
    unsigned long long *h = (unsigned long long *)malloc(sizeof *h * nc);
    if (!h) return RTK_ERR(RTK_ERR_MEM, "out of memory");
    for (int k = 0; k < job->nbnd && ce == cudaSuccess; k++) {
      ce = cudaMemcpy(h, r->dcount + (size_t)k * nc, sizeof *h * nc, cudaMemcpyDeviceToHost);
      for (size_t b = 0; b < nc && ce == cudaSuccess; b++) job->bh[k].count[b] += (int64_t)h[b];
    }
    free(h);
    CU(ce);
  }
  if (r->prof) {
    fprintf(stderr, "rtkbench cuda profile (%s, %s, device seconds by phase):", s->name,
            sizeof(T) == sizeof(double) ? "fp64" : "fp32");
    for (int i = 0; i < PH_N; i++) fprintf(stderr, " %s %.4f", ph_name[i], r->prof_s[i]);
    fprintf(stderr, "\n");
  }
  return RTK_OK;
}

static int attach(int local_rank, int local_size);

/* ------------------------------------------------------------------ benchmark (bench/bench_cuda.c) */
/* Seconds per score evaluation (score and log-density) of N particles, K components, dimension d, and
 * seconds per cuBLAS GEMM of size gm x gm x gm, same type; medians of reps after a warm-up. */
template <class T> static int bench_typed(int N, int K, int d, int gm, int reps, double *sec_eval, double *sec_gemm) {
  rtk_mixture *mix;
  RTK_CHECK(rtk_mixture_alloc(K, d, &mix));
  for (int k = 0; k < K; k++) {
    mix->w[k] = 1.0 / K;
    for (int j = 0; j < d; j++) {
      mix->mu[(size_t)k * d + j] = sin(1.0 + k * 0.37 + j * 0.11);
      mix->var[(size_t)k * d + j] = 0.05 + 0.01 * ((k + j) % 7);
    }
  }
  dev_run<T> r;
  memset(&r, 0, sizeof r);
  r.mix = mix;
  r.d = d;
  r.K = K;
  r.n = N;
  r.nch = (d + 3) / 4;
  r.R = (size_t)((N + RTK_CUDA_ROWS - 1) / RTK_CUDA_ROWS) * RTK_CUDA_ROWS;
  int rc = RTK_OK;
  T *A = nullptr, *B = nullptr, *C = nullptr;
  cudaEvent_t e0, e1;
  cudaEventCreate(&e0);
  cudaEventCreate(&e1);
  float *ms = (float *)calloc((size_t)reps, sizeof(float));
#define B_CHECK(x) \
  if (!rc) rc = (x)
  B_CHECK(ms ? RTK_OK : RTK_ERR(RTK_ERR_MEM, "out of memory"));
  B_CHECK(dalloc(&r.X, r.R * d));
  B_CHECK(dalloc(&r.Y, r.R * 2 * d));
  B_CHECK(dalloc(&r.L, r.R * K));
  B_CHECK(dalloc(&r.P, r.R * 2 * d));
  B_CHECK(dalloc(&r.lp, r.R));
  B_CHECK(dalloc(&r.C1, (size_t)K * 4 * d + K));
  if (!rc) {
    r.C2 = r.C1 + (size_t)K * 2 * d;
    r.c = r.C1 + (size_t)K * 4 * d;
  }
  B_CHECK(halloc(&r.hC1, (size_t)K * 2 * d));
  B_CHECK(halloc(&r.hC2, (size_t)K * 2 * d));
  B_CHECK(halloc(&r.hc, (size_t)K));
  B_CHECK(rtk_mixcoef_init(mix, &r.coef));
  static const double t_bench[1] = {0.3};
  r.times = t_bench;
  B_CHECK(mix_time(&r, 0));
  if (!rc) {
    k_init<T, 0><<<blocks_for((int64_t)N * r.nch, 256), 256, 0, g_stream>>>(N, d, r.nch, 0, 0, 7, r.X, r.Y);
    rc = cudaGetLastError() == cudaSuccess ? RTK_OK : RTK_ERR(RTK_ERR_RUNTIME, "k_init failed");
  }
  for (int i = 0; i < 3 && !rc; i++) rc = mix_eval(&r, 1);
  for (int i = 0; i < reps && !rc; i++) {
    cudaEventRecord(e0, g_stream);
    rc = mix_eval(&r, 1);
    cudaEventRecord(e1, g_stream);
    cudaEventSynchronize(e1);
    cudaEventElapsedTime(&ms[i], e0, e1);
  }
  auto median = [&](void) {
    for (int i = 1; i < reps; i++)
      for (int j = i; j > 0 && ms[j] < ms[j - 1]; j--) {
        float t = ms[j];
        ms[j] = ms[j - 1];
        ms[j - 1] = t;
      }
    return ms[reps / 2] * 1e-3;
  };
  if (!rc) *sec_eval = median();
  B_CHECK(dalloc(&A, (size_t)gm * gm));
  B_CHECK(dalloc(&B, (size_t)gm * gm));
  B_CHECK(dalloc(&C, (size_t)gm * gm));
  if (!rc) { /* random-ish operands (not zeros): X's normals tiled */
    const size_t nx = (size_t)N * d < (size_t)gm * gm ? (size_t)N * d : (size_t)gm * gm;
    cudaMemcpyAsync(A, r.X, nx * sizeof(T), cudaMemcpyDeviceToDevice, g_stream);
    cudaMemcpyAsync(B, r.X, nx * sizeof(T), cudaMemcpyDeviceToDevice, g_stream);
  }
  for (int i = 0; i < 3 + reps && !rc; i++) {
    cudaEventRecord(e0, g_stream);
    cublasStatus_t s = gemm(CUBLAS_OP_N, CUBLAS_OP_N, gm, gm, gm, A, gm, B, gm, C, gm);
    cudaEventRecord(e1, g_stream);
    cudaEventSynchronize(e1);
    if (s != CUBLAS_STATUS_SUCCESS) rc = RTK_ERR(RTK_ERR_RUNTIME, "cuBLAS GEMM failed (%d)", (int)s);
    if (i >= 3) cudaEventElapsedTime(&ms[i - 3], e0, e1);
  }
  if (!rc) *sec_gemm = median();
  if (!rc && cudaDeviceSynchronize() != cudaSuccess) rc = RTK_ERR(RTK_ERR_RUNTIME, "CUDA error in the benchmark");
#undef B_CHECK
  cudaFree(A);
  cudaFree(B);
  cudaFree(C);
  cudaEventDestroy(e0);
  cudaEventDestroy(e1);
  free(ms);
  run_free(&r);
  rtk_mixture_free(mix);
  return rc;
}

extern "C" int rtk_cuda_bench_score(int fp32, int N, int K, int d, int gm, int reps, double *sec_eval,
                                    double *sec_gemm) {
  if (g_dev < 0) RTK_CHECK(attach(0, 1));
  return fp32 ? bench_typed<float>(N, K, d, gm, reps, sec_eval, sec_gemm)
              : bench_typed<double>(N, K, d, gm, reps, sec_eval, sec_gemm);
}

/* ------------------------------------------------------------------ the ops */
static int check(const rtk_sampler_ops *s, const rtk_score_ops *score, int precision, const rtk_sampler_cfg *cfg,
                 int64_t trace) {
  (void)precision;
  const int mala = s == &rtk_sampler_rtk_mala || s == &rtk_sampler_rtk_mala_score;
  const int rtk = mala || s == &rtk_sampler_rtk_ula || s == &rtk_sampler_rtk_uld;
  if (s != &rtk_sampler_exact && s != &rtk_sampler_ddpm && s != &rtk_sampler_ddim && s != &rtk_sampler_dpmpp2m &&
      s != &rtk_sampler_pc && s != &rtk_sampler_heun && !rtk)
    return RTK_ERR(RTK_ERR_INPUT,
                   "sampler %s is not ported to the cuda backend yet (cuda runs exact, ddpm, ddim, dpm-solver++, "
                   "heun, pc, rtk-ula, rtk-uld, rtk-mala, rtk-mala-score); run it with run.backend = cpu",
                   s->name);
  if (s == &rtk_sampler_heun && cfg->s_churn > 0)
    return RTK_ERR(RTK_ERR_INPUT, "heun: s_churn > 0 (EDM's stochastic churn) is not ported to the cuda backend yet");
  if (score && !dev_model<double>(score->name))
    return RTK_ERR(RTK_ERR_INPUT,
                   "score.model = %s has no cuda version (cuda runs exact, perturbed, mlp); run it with run.backend = cpu",
                   score->name);
  if (rtk) {
    if (trace > 0) return RTK_ERR(RTK_ERR_INPUT, "output.trace is not available on the cuda backend");
  }
  return RTK_OK;
}

static int attach(int local_rank, int local_size) {
  if (g_dev >= 0) return RTK_OK;
  int n = 0;
  cudaError_t e = cudaGetDeviceCount(&n);
  if (e != cudaSuccess || n == 0)
    return RTK_ERR(RTK_ERR_INPUT, "run.backend = cuda: no CUDA device on this node (%s)",
                   e != cudaSuccess ? cudaGetErrorString(e) : "0 devices");
  /* RTK_CUDA_SHARE_DEVICE=1 (tests only): ranks share the node's GPUs round robin */
  const char *share = getenv("RTK_CUDA_SHARE_DEVICE");
  const int shared = share && share[0] == '1';
  if (shared) local_rank %= n;
  if (local_size > n && !shared)
    return RTK_ERR(RTK_ERR_INPUT,
                   "run.backend = cuda: %d ranks on this node but %d GPU%s; run one rank per GPU (at most %d per node)",
                   local_size, n, n == 1 ? "" : "s", n);
  CU(cudaSetDevice(local_rank));
  cudaDeviceProp prop;
  CU(cudaGetDeviceProperties(&prop, local_rank));
  CU(cudaStreamCreateWithFlags(&g_stream, cudaStreamNonBlocking));
  CB(cublasCreate(&g_blas));
  CB(cublasSetStream(g_blas, g_stream));
  /* graph captures (run_ddpm) use a second handle with a workspace of its own, so that cuBLAS never allocates
   * inside a capture; the main handle keeps cuBLAS's default workspace (with a 32 MiB user workspace on it,
   * rtk-mala's many small GEMMs ran 2-5x slower in two of three runs on an H200, docs/performance.md) */
  CB(cublasCreate(&g_blas_cap));
  CB(cublasSetStream(g_blas_cap, g_stream));
  CU(cudaMalloc(&g_ws, RTK_CUDA_WS));
  CB(cublasSetWorkspace(g_blas_cap, g_ws, RTK_CUDA_WS));
  snprintf(g_desc, sizeof g_desc, "GPU %d of %d: %s, %d SMs, %.1f GiB", local_rank, n, prop.name,
           prop.multiProcessorCount, prop.totalGlobalMem / 1073741824.0);
  g_sms = prop.multiProcessorCount;
  g_dev = local_rank;
  return RTK_OK;
}

static void release(void);
static void detach(void) {
  if (g_dev < 0) return;
  release();
  cublasDestroy(g_blas);
  cublasDestroy(g_blas_cap);
  cudaFree(g_ws);
  g_ws = nullptr;
  cudaStreamDestroy(g_stream);
  g_dev = -1;
}

static const char *describe(void) { return g_desc; }

/* the final particles of the last run, kept on the device for lin_sums (job->keep) until release */
static struct {
  void *X; /* float or double [R][d], the rank's rows from row off */
  int fp32, d;
  int64_t n;
  size_t off;
} g_keep;

static void release(void) {
  if (g_keep.X) cudaFree(g_keep.X);
  memset(&g_keep, 0, sizeof g_keep);
}

template <class T> static void keep(dev_run<T> *r) {
  g_keep.X = r->X;
  g_keep.fp32 = sizeof(T) != sizeof(double);
  g_keep.d = r->d;
  g_keep.n = r->n;
  g_keep.off = r->off;
  r->X = nullptr; /* run_free leaves it */
}

static int run(const rtk_dev_job *job, rtk_stats *st) {
  if (g_dev < 0) return RTK_ERR(RTK_ERR_RUNTIME, "cuda backend: no device attached");
  release();
  if (job->n <= 0) return RTK_OK;
  cudaGetLastError(); /* no stale error from an earlier call is blamed on this run */
  const int rng32_host = rtk_rng_generator() == RTK_RNG_PHILOX4X32; /* run.rng, set by the driver */
  CU(cudaMemcpyToSymbol(c_rng32, &rng32_host, sizeof rng32_host));
  g_zig = rtk_rng_normal() == RTK_RNG_ZIGGURAT; /* run.normal, likewise */
  int rc;
  if (job->precision == RTK_PREC_FP32) {
    dev_run<float> r;
    memset(&r, 0, sizeof r);
    rc = run_typed(job, st, &r);
    if (!rc && job->keep) keep(&r);
    run_free(&r);
  } else {
    dev_run<double> r;
    memset(&r, 0, sizeof r);
    rc = run_typed(job, st, &r);
    if (!rc && job->keep) keep(&r);
    run_free(&r);
  }
  if (rc) return rtk_error_trace(rc, __FILE__, __LINE__, __func__);
  return RTK_OK;
}

template <class T>
static int lin_launch(const T *X, const double *lo, const double *hi, int nb, const signed char *sg,
                      unsigned long long *s) {
  k_lin_sums<T><<<blocks_for(g_keep.n * 32, 256), 256, 0, g_stream>>>(g_keep.n, g_keep.d, g_keep.off, X, lo, hi, nb,
                                                                       sg, s);
  LAUNCHED();
  return RTK_OK;
}
static int lin_run(const rtk_hist *h, const signed char *sign, double **lo, double **hi, signed char **sg,
                   unsigned long long **s) {
  const int d = g_keep.d, nb = h->nbins;
  if (h->d != d) return RTK_ERR(RTK_ERR_INPUT, "cuda lin_sums: histogram of %d coordinates, particles of %d", h->d, d);
  RTK_CHECK(upload(lo, h->lo, d));
  RTK_CHECK(upload(hi, h->hi, d));
  RTK_CHECK(dalloc(sg, (size_t)d * (nb + 2)));
  CU(cudaMemcpyAsync(*sg, sign, (size_t)d * (nb + 2), cudaMemcpyHostToDevice, g_stream));
  RTK_CHECK(dalloc(s, 2));
  if (g_keep.fp32) RTK_CHECK(lin_launch((const float *)g_keep.X, *lo, *hi, nb, *sg, *s));
  else RTK_CHECK(lin_launch((const double *)g_keep.X, *lo, *hi, nb, *sg, *s));
  return RTK_OK;
}
static int lin_sums(const rtk_hist *h, const signed char *sign, int64_t *s1, int64_t *s2) {
  if (g_keep.n <= 0) return RTK_OK; /* no particles on this rank */
  if (!g_keep.X) return RTK_ERR(RTK_ERR_RUNTIME, "cuda lin_sums: no particles kept on the device");
  double *lo = nullptr, *hi = nullptr;
  signed char *sg = nullptr;
  unsigned long long *s = nullptr, hs[2] = {0, 0};
  int rc = lin_run(h, sign, &lo, &hi, &sg, &s);
  if (!rc && cudaMemcpyAsync(hs, s, sizeof hs, cudaMemcpyDeviceToHost, g_stream) != cudaSuccess)
    rc = RTK_ERR(RTK_ERR_RUNTIME, "cuda lin_sums: copy back failed");
  if (cudaStreamSynchronize(g_stream) != cudaSuccess && !rc)
    rc = RTK_ERR(RTK_ERR_RUNTIME, "cuda lin_sums: %s", cudaGetErrorString(cudaGetLastError()));
  cudaFree(lo);
  cudaFree(hi);
  cudaFree(sg);
  cudaFree(s);
  if (rc) return rtk_error_trace(rc, __FILE__, __LINE__, __func__);
  *s1 += (int64_t)hs[0];
  *s2 += (int64_t)hs[1];
  return RTK_OK;
}

extern "C" const rtk_backend_ops rtk_backend_cuda = {"cuda", check, attach, run, lin_sums, release, detach,
                                                      describe};
