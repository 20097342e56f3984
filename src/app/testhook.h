/* Test hooks for the reliability tests (tests/fault): named failure and
 * pause points that do nothing unless the environment names them.
 *   RTK_TEST_FAIL=POINT[@RANK]  rtk_test_fail(POINT) is true (on that
 *                               MPI_COMM_WORLD rank only, or on every rank)
 *   RTK_TEST_PAUSE=POINT[@RANK] the first rtk_test_pause(POINT) prints
 *                               "rtkbench: test hook: paused at POINT (pid N)"
 *                               on stderr and waits (at most 60 s) for a stop
 *                               signal (SIGTERM/SIGINT/SIGUSR1: the run then
 *                               stops as usual) or SIGUSR2 (carry on)
 *   RTK_TEST_SLOW=RANK:MICROSECONDS  rtk_test_slow() sleeps that long on
 *                               MPI_COMM_WORLD rank RANK (after every block:
 *                               a slow core for the run.schedule tests); with
 *                               it set, each rank prints its block count
 * Points: "startup" (after the study is expanded, before the output is
 * touched), "segment" (inside a block, at the first segment/step boundary
 * of a run: the file is locked and being written), "info" (info holds its
 * read lock).
 * They let a test make one rank's allocation fail, or signal the program at
 * a known point, without timing assumptions. */
#ifndef RTK_APP_TESTHOOK_H
#define RTK_APP_TESTHOOK_H

int rtk_test_fail(const char *point);
void rtk_test_pause(const char *point);
void rtk_test_slow(void);

#endif
