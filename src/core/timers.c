/* Per-phase timers (include/rtk/timers.h). */
#include "rtk/timers.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>


int rtk_timers_armed = 0;
uint64_t rtk_timers_fine[1];

static double coarse[RTK_NPHASES]; /* seconds of the switched phases */
static int current = -1, fine_on = 0;
static double t_switch, t_start;
static uint64_t tick_start;
static void rng_sample_reset(void);
static double rng_estimate(void);

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

double rtk_timers_scaled(uint64_t first, uint64_t sampled, uint64_t calls, uint64_t timed, uint64_t nfirst) {
  const uint64_t rest = calls > nfirst ? calls - nfirst : 0, ns = timed > nfirst ? timed - nfirst : 0;
  return (double)first + (ns ? (double)sampled * ((double)rest / (double)ns) : 0);
}

#if !(defined(RTK_TIMERS_FINE) && (defined(__x86_64__) || defined(__i386__)))
uint64_t rtk_ticks(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}
#endif

void rtk_timers_start(void) {
#ifdef RTK_TIMERS_FINE
  const char *e = getenv("RTK_TIMERS");
  fine_on = !(e && !strcmp(e, "0"));
#endif
  memset(coarse, 0, sizeof coarse);
  rtk_timers_fine[0] = 0;
  rng_sample_reset();
  current = -1;
  rtk_timers_armed = 0;
  t_start = t_switch = now();
  tick_start = rtk_ticks();
}

void rtk_timers_enter(int phase) {
  const double t = now();
  if (current >= 0) coarse[current] += t - t_switch;
  t_switch = t;
  current = phase;
  rtk_timers_armed = fine_on && phase == RTK_PHASE_SAMPLER;
}

void rtk_timers_read(double sec[RTK_NPHASES]) {
  rtk_timers_enter(-1);
  const double span = now() - t_start;
  const uint64_t ticks = rtk_ticks() - tick_start;
  const double per_tick = ticks > 0 ? span / (double)ticks : 0; /* seconds per tick, over this run */
  for (int p = 0; p < RTK_NPHASES; p++) sec[p] = coarse[p];
  if (fine_on) {
    sec[RTK_PHASE_SCORE] = (double)rtk_timers_fine[0] * per_tick;
    /* the rng time is an estimate (a sample of its calls): never more than the sampling span it lies in, which
     * a sampled call that the system preempted could otherwise give */
    const double rest = sec[RTK_PHASE_SAMPLER] - sec[RTK_PHASE_SCORE];
    double rng = rng_estimate() * per_tick;
    if (rng > rest) rng = rest > 0 ? rest : 0;
    sec[RTK_PHASE_RNG] = rng;
    sec[RTK_PHASE_SAMPLER] = rest - rng; /* the remainder of sampling */
    if (sec[RTK_PHASE_SAMPLER] < 0) sec[RTK_PHASE_SAMPLER] = 0;
  } else {
    sec[RTK_PHASE_SCORE] = sec[RTK_PHASE_RNG] = NAN;
  }
}

#ifdef RTK_TIMERS_FINE
/* ld --wrap=rtk_rng_*: calls from other objects land here, rng.c is untouched.
 *
 * The rng calls are many and short (one per particle and inner step), and a time-stamp read costs about 10 ns on
 * the development machine's EPYC and 22 ns on the lent Intel guest (bench/device/call15_isa.sh): two reads around
 * every call added about 2 % to an rtk-mala run at (64, 128) there, all of it counted as rng time.  So only a
 * sample of each function's calls is timed: its first RTK_RNG_TIMED_FIRST calls, then each call with probability
 * 2^-RTK_RNG_SAMPLE_BITS (a fixed xorshift sequence, reset per run: no period of the callers can alias with it, and
 * the choice never touches the numbers).  rtk_timers_read adds each function's first calls as timed and scales
 * its sampled calls' ticks by the later calls over the sampled ones: an unbiased estimate of its whole time,
 * exact for a run with no more calls than the first ones, and capped at the sampling span it lies in. */
#define RTK_RNG_TIMED_FIRST 64
#define RTK_RNG_SAMPLE_BITS 3 /* 1 call in 8 */
enum { RNG_NORMALS, RNG_UNIFORMS, RNG_UNIFORM, RNG_NFN };
/* per function: ticks of its first calls and of its sampled calls after them, its calls, its timed calls */
static uint64_t rng_first[RNG_NFN], rng_ticks[RNG_NFN], rng_calls[RNG_NFN], rng_timed[RNG_NFN], rng_pick = 1;

static void rng_sample_reset(void) {
  memset(rng_first, 0, sizeof rng_first);
  memset(rng_ticks, 0, sizeof rng_ticks);
  memset(rng_calls, 0, sizeof rng_calls);
  memset(rng_timed, 0, sizeof rng_timed);
  rng_pick = UINT64_C(0x9E3779B97F4A7C15);
}

/* whether this call of function f is timed (counts the call) */
static inline int rng_sample(int f) {
  if (rng_calls[f]++ < RTK_RNG_TIMED_FIRST) return 1;
  rng_pick ^= rng_pick << 13; /* xorshift64 */
  rng_pick ^= rng_pick >> 7;
  rng_pick ^= rng_pick << 17;
  return rng_pick >> (64 - RTK_RNG_SAMPLE_BITS) == 0;
}

static inline void rng_add(int f, uint64_t t0) {
  const uint64_t t = rtk_ticks() - t0;
  if (rng_timed[f]++ < RTK_RNG_TIMED_FIRST)
    rng_first[f] += t;
  else
    rng_ticks[f] += t;
}

/* the estimated rng ticks of this run: each function's first calls as timed, the rest's sample scaled up to them */
static double rng_estimate(void) {
  double t = 0;
  for (int f = 0; f < RNG_NFN; f++)
    t += rtk_timers_scaled(rng_first[f], rng_ticks[f], rng_calls[f], rng_timed[f], RTK_RNG_TIMED_FIRST);
  return t;
}

void rtk_timers_rng_counts(uint64_t *calls, uint64_t *timed) {
  *calls = *timed = 0;
  for (int f = 0; f < RNG_NFN; f++) *calls += rng_calls[f], *timed += rng_timed[f];
}

void __real_rtk_rng_normals(uint64_t, uint64_t, uint64_t, uint64_t, uint64_t, int, double *);
void __real_rtk_rng_uniforms(uint64_t, uint64_t, uint64_t, uint64_t, uint64_t, int, double *);
double __real_rtk_rng_uniform(uint64_t, uint64_t, uint64_t, uint64_t, uint64_t);
void __wrap_rtk_rng_normals(uint64_t, uint64_t, uint64_t, uint64_t, uint64_t, int, double *);
void __wrap_rtk_rng_uniforms(uint64_t, uint64_t, uint64_t, uint64_t, uint64_t, int, double *);
double __wrap_rtk_rng_uniform(uint64_t, uint64_t, uint64_t, uint64_t, uint64_t);

void __wrap_rtk_rng_normals(uint64_t s, uint64_t id, uint64_t c0, uint64_t c1, uint64_t p, int n, double *out) {
  if (!rtk_timers_armed || !rng_sample(RNG_NORMALS)) {
    __real_rtk_rng_normals(s, id, c0, c1, p, n, out);
    return;
  }
  const uint64_t t = rtk_ticks();
  __real_rtk_rng_normals(s, id, c0, c1, p, n, out);
  rng_add(RNG_NORMALS, t);
}

void __wrap_rtk_rng_uniforms(uint64_t s, uint64_t id, uint64_t c0, uint64_t c1, uint64_t p, int n, double *out) {
  if (!rtk_timers_armed || !rng_sample(RNG_UNIFORMS)) {
    __real_rtk_rng_uniforms(s, id, c0, c1, p, n, out);
    return;
  }
  const uint64_t t = rtk_ticks();
  __real_rtk_rng_uniforms(s, id, c0, c1, p, n, out);
  rng_add(RNG_UNIFORMS, t);
}

double __wrap_rtk_rng_uniform(uint64_t s, uint64_t id, uint64_t c0, uint64_t c1, uint64_t p) {
  if (!rtk_timers_armed || !rng_sample(RNG_UNIFORM)) return __real_rtk_rng_uniform(s, id, c0, c1, p);
  const uint64_t t = rtk_ticks();
  const double u = __real_rtk_rng_uniform(s, id, c0, c1, p);
  rng_add(RNG_UNIFORM, t);
  return u;
}
#else
static void rng_sample_reset(void) {}
static double rng_estimate(void) { return 0; }
void rtk_timers_rng_counts(uint64_t *calls, uint64_t *timed) { *calls = *timed = 0; }
#endif
