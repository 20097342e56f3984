/* Progress on rank 0: a live line on a terminal, plain periodic lines in a
 * batch log.  ETA weights runs by their estimated cost. */
#ifndef RTK_APP_PROGRESS_H
#define RTK_APP_PROGRESS_H

typedef struct rtk_progress {
  int enabled, tty, nruns;
  double every, t_start, t_last;
  double total_cost, done_cost; /* cost of the finished runs */
} rtk_progress;

void rtk_progress_init(rtk_progress *p, int enabled, int nruns, double total_cost, double every);
/* run i (0-based) of the study, `label` names it, frac in [0,1] of its cost done */
void rtk_progress_update(rtk_progress *p, int run, const char *label, double run_cost, double frac);
void rtk_progress_run_done(rtk_progress *p, double run_cost);
void rtk_progress_finish(rtk_progress *p);

#endif
