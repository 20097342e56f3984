#include "progress.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "rtk/sampler.h"

void rtk_progress_init(rtk_progress *p, int enabled, int nruns, double total_cost, double every) {
  memset(p, 0, sizeof *p);
  p->enabled = enabled && every > 0; /* progress = 0: no progress output at all */
  p->tty = isatty(fileno(stderr));
  p->nruns = nruns;
  p->every = every;
  p->total_cost = total_cost > 0 ? total_cost : 1;
  p->t_start = p->t_last = rtk_now();
}

static void fmt_time(double s, char *buf, size_t len) {
  if (s < 0 || s != s) snprintf(buf, len, "--");
  else if (s < 120) snprintf(buf, len, "%.0fs", s);
  else if (s < 7200) snprintf(buf, len, "%.0fm%02.0fs", s / 60 - 0.5, s - 60 * (int)(s / 60));
  else snprintf(buf, len, "%.1fh", s / 3600);
}

void rtk_progress_update(rtk_progress *p, int run, const char *label, double run_cost, double frac) {
  if (!p->enabled) return;
  double now = rtk_now();
  double period = p->tty ? 0.2 : p->every;
  if (period <= 0 || now - p->t_last < period) return;
  p->t_last = now;
  double done = (p->done_cost + frac * run_cost) / p->total_cost, el = now - p->t_start;
  char eta[32], ela[32];
  fmt_time(done > 0 ? el * (1 - done) / done : -1, eta, sizeof eta);
  fmt_time(el, ela, sizeof ela);
  fprintf(stderr, "%s[run %d/%d] %-40.40s %5.1f%%  study %5.1f%%  elapsed %s  ETA %s%s", p->tty ? "\r" : "",
          run + 1, p->nruns, label, 100 * frac, 100 * done, ela, eta, p->tty ? "\033[K" : "\n");
  fflush(stderr);
}

void rtk_progress_run_done(rtk_progress *p, double run_cost) { p->done_cost += run_cost; }

void rtk_progress_finish(rtk_progress *p) {
  if (p->enabled && p->tty) fprintf(stderr, "\r\033[K");
}
