/* Test hooks for the reliability tests (tests/fault): named failure and
 * pause points that do nothing unless the environment names them.
 *   RTK_TEST_FAIL=POINT[@RANK]  rtk_test_fail(POINT) is true (on that
 *                               MPI_COMM_WORLD rank only, or on every rank)
 *   RTK_TEST_PAUSE=POINT        rtk_test_pause(POINT) prints
 *                               "rtkbench: test hook: paused at POINT" on
 *                               stderr and waits (at most 60 s) for a signal
 * They let a test make one rank's allocation fail, or signal the program at
 * a known point, without timing assumptions. */
#ifndef RTK_APP_TESTHOOK_H
#define RTK_APP_TESTHOOK_H

int rtk_test_fail(const char *point);
void rtk_test_pause(const char *point);

#endif
