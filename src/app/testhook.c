#define _POSIX_C_SOURCE 200809L
#include "testhook.h"

#include <mpi.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "study.h"

/* does the variable's value name this point (and, with @RANK, this rank)? */
static int named(const char *var, const char *point) {
  const char *v = getenv(var);
  const size_t n = strlen(point);
  if (!v || strncmp(v, point, n) || (v[n] != '\0' && v[n] != '@')) return 0;
  if (v[n] == '\0') return 1;
  int init = 0, rank = 0;
  MPI_Initialized(&init);
  if (init) MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  return atoi(v + n + 1) == rank;
}

int rtk_test_fail(const char *point) { return named("RTK_TEST_FAIL", point); }

static volatile sig_atomic_t resumed = 0;
static void on_continue(int sig) {
  (void)sig;
  resumed = 1;
}

void rtk_test_pause(const char *point) {
  static int paused = 0; /* once per process */
  if (paused || !named("RTK_TEST_PAUSE", point)) return;
  paused = 1;
  struct sigaction sa, old;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_continue;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGUSR2, &sa, &old); /* before the marker: the test signals only after seeing it */
  fprintf(stderr, "rtkbench: test hook: paused at %s (pid %ld)\n", point, (long)getpid());
  fflush(stderr);
  for (int i = 0; i < 6000 && !rtk_stop_requested() && !resumed; i++) {
    struct timespec ts = {0, 10000000};
    nanosleep(&ts, NULL);
  }
  sigaction(SIGUSR2, &old, NULL);
}

void rtk_test_slow(void) {
  const char *v = getenv("RTK_TEST_SLOW");
  const char *c = v ? strchr(v, ':') : NULL;
  if (!c) return;
  int init = 0, rank = 0;
  MPI_Initialized(&init);
  if (init) MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  const long us = atol(c + 1);
  if (atoi(v) != rank || us <= 0) return;
  struct timespec ts = {us / 1000000, us % 1000000 * 1000};
  nanosleep(&ts, NULL);
}
