/* Per-phase timers (include/rtk/timers.h). */
#include "rtk/timers.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>


int rtk_timers_armed = 0;
uint64_t rtk_timers_fine[2];

static double coarse[RTK_NPHASES]; /* seconds of the switched phases */
static int current = -1, fine_on = 0;
static double t_switch, t_start;
static uint64_t tick_start;

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
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
  rtk_timers_fine[0] = rtk_timers_fine[1] = 0;
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
    sec[RTK_PHASE_RNG] = (double)rtk_timers_fine[1] * per_tick;
    sec[RTK_PHASE_SAMPLER] -= sec[RTK_PHASE_SCORE] + sec[RTK_PHASE_RNG]; /* the remainder of sampling */
    if (sec[RTK_PHASE_SAMPLER] < 0) sec[RTK_PHASE_SAMPLER] = 0;
  } else {
    sec[RTK_PHASE_SCORE] = sec[RTK_PHASE_RNG] = NAN;
  }
}

#ifdef RTK_TIMERS_FINE
/* ld --wrap=rtk_rng_*: calls from other objects land here, rng.c is untouched */
void __real_rtk_rng_normals(uint64_t, uint64_t, uint64_t, uint64_t, uint64_t, int, double *);
void __real_rtk_rng_uniforms(uint64_t, uint64_t, uint64_t, uint64_t, uint64_t, int, double *);
double __real_rtk_rng_uniform(uint64_t, uint64_t, uint64_t, uint64_t, uint64_t);
void __wrap_rtk_rng_normals(uint64_t, uint64_t, uint64_t, uint64_t, uint64_t, int, double *);
void __wrap_rtk_rng_uniforms(uint64_t, uint64_t, uint64_t, uint64_t, uint64_t, int, double *);
double __wrap_rtk_rng_uniform(uint64_t, uint64_t, uint64_t, uint64_t, uint64_t);

void __wrap_rtk_rng_normals(uint64_t s, uint64_t id, uint64_t c0, uint64_t c1, uint64_t p, int n, double *out) {
  if (!rtk_timers_armed) {
    __real_rtk_rng_normals(s, id, c0, c1, p, n, out);
    return;
  }
  const uint64_t t = rtk_ticks();
  __real_rtk_rng_normals(s, id, c0, c1, p, n, out);
  rtk_timers_fine[1] += rtk_ticks() - t;
}

void __wrap_rtk_rng_uniforms(uint64_t s, uint64_t id, uint64_t c0, uint64_t c1, uint64_t p, int n, double *out) {
  if (!rtk_timers_armed) {
    __real_rtk_rng_uniforms(s, id, c0, c1, p, n, out);
    return;
  }
  const uint64_t t = rtk_ticks();
  __real_rtk_rng_uniforms(s, id, c0, c1, p, n, out);
  rtk_timers_fine[1] += rtk_ticks() - t;
}

double __wrap_rtk_rng_uniform(uint64_t s, uint64_t id, uint64_t c0, uint64_t c1, uint64_t p) {
  if (!rtk_timers_armed) return __real_rtk_rng_uniform(s, id, c0, c1, p);
  const uint64_t t = rtk_ticks();
  const double u = __real_rtk_rng_uniform(s, id, c0, c1, p);
  rtk_timers_fine[1] += rtk_ticks() - t;
  return u;
}
#endif
