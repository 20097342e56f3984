#define _POSIX_C_SOURCE 200809L
#include "testhook.h"

#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

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

void rtk_test_pause(const char *point) {
  if (!named("RTK_TEST_PAUSE", point)) return;
  fprintf(stderr, "rtkbench: test hook: paused at %s\n", point);
  fflush(stderr);
  for (int i = 0; i < 6000 && !rtk_stop_requested(); i++) {
    struct timespec ts = {0, 10000000};
    nanosleep(&ts, NULL);
  }
}
