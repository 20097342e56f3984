/* Per-phase timers of a run: where the time of a run went.
 *
 * Phases (the columns of metrics/time_phases, docs/format.md):
 *   score       inside rtk_score_eval (the score model: mixture kernel, MLP, ...)
 *   rng         inside rtk_rng_normals / rtk_rng_uniforms / rtk_rng_uniform
 *   sampler     the rest of sampling: the samplers' own arithmetic
 *   diagnostics boundary/inner callbacks, histograms, metrics, score error, reductions
 *   wait        waiting for the other ranks at the collective that ends the kernel
 *               (run.schedule = dynamic: also the exchange of blocks between the ranks)
 *   io          writing the run to the results file
 * The driver (src/app/study.c) switches between the coarse phases sampler,
 * diagnostics and io with rtk_timers_enter (a clock read per switch, a few per
 * block).  Score and rng are timed at their interface boundaries only while
 * the sampler phase is current: rtk_score_eval (score.h) and the rng
 * functions, wrapped at link time (ld --wrap=rtk_rng_*, src/core/timers.c),
 * so neither the samplers nor rng.c know about timing.  Those fine timers read
 * the CPU's time-stamp counter on x86-64 (10-22 ns per read on the machines
 * measured; calibrated against CLOCK_MONOTONIC over the run) and clock_gettime
 * elsewhere.  Every score evaluation is timed (one per block and step); the
 * rng calls (one per particle and step) only in a sample, scaled up to all of
 * them (src/core/timers.c), so that reading the clock does not itself become
 * a visible part of the rng time.
 * Switches: CMake -DRTK_TIMERS=OFF builds without the fine timers;
 * RTK_TIMERS=0 in the environment turns them off at run time.  Either way
 * score and rng are then NaN and their time counts as sampler.
 * One set of accumulators per process (the samplers run single-threaded). */
#ifndef RTK_TIMERS_H
#define RTK_TIMERS_H
#include <stdint.h>

enum rtk_phase {
  RTK_PHASE_SCORE,
  RTK_PHASE_RNG,
  RTK_PHASE_SAMPLER,
  RTK_PHASE_DIAG,
  RTK_PHASE_WAIT,
  RTK_PHASE_IO,
  RTK_NPHASES
};
#define RTK_PHASE_NAMES {"score", "rng", "sampler", "diagnostics", "wait", "io"}

/* nonzero while fine (score, rng) timing is armed: the sampler phase is current */
extern int rtk_timers_armed;
extern uint64_t rtk_timers_fine[1]; /* ticks of score (rng: a sample of its calls, src/core/timers.c) */

#if defined(RTK_TIMERS_FINE) && (defined(__x86_64__) || defined(__i386__))
#include <x86intrin.h>
static inline uint64_t rtk_ticks(void) { return __rdtsc(); }
#else
uint64_t rtk_ticks(void); /* ns of CLOCK_MONOTONIC */
#endif

/* start timing a run (all phases zero, no phase current) */
void rtk_timers_start(void);
/* make `phase` (sampler, diagnostics, wait or io) the current phase; -1: none */
void rtk_timers_enter(int phase);
/* seconds per phase so far (score and rng NaN when fine timing is off); stops the current phase */
void rtk_timers_read(double sec[RTK_NPHASES]);
/* For the tests (src/core/timers.c): the rng functions' calls and timed calls in this run (0 without the fine
 * timers), and the estimate of a function's ticks from its first nfirst calls' ticks `first` and the ticks
 * `sampled` of its timed calls after them, out of `calls` calls of which `timed` were timed. */
void rtk_timers_rng_counts(uint64_t *calls, uint64_t *timed);
double rtk_timers_scaled(uint64_t first, uint64_t sampled, uint64_t calls, uint64_t timed, uint64_t nfirst);

#endif
