/* The cuda backend of a build without the CUDA toolkit: every call is
 * refused with a message that says how to get one. */
#include "rtk/backend.h"
#include "rtk/error.h"

const int rtk_have_cuda = 0;

static int refuse(void) {
  return RTK_ERR(RTK_ERR_INPUT, "run.backend = cuda: this rtkbench was built without the CUDA toolkit "
                                "(cmake prints 'CUDA backend: off'; install the toolkit, or put nvcc on PATH / set "
                                "CMAKE_CUDA_COMPILER, and rebuild)");
}
static int check(const rtk_sampler_ops *s, const rtk_score_ops *score, int precision, const rtk_sampler_cfg *cfg,
                 int64_t trace) {
  (void)s, (void)score, (void)precision, (void)cfg, (void)trace;
  return refuse();
}
static int attach(int local_rank, int local_size) {
  (void)local_rank, (void)local_size;
  return refuse();
}
static int run(const rtk_dev_job *job, rtk_stats *st) {
  (void)job, (void)st;
  return refuse();
}
static int lin_sums(const rtk_hist *h, const signed char *sign, int64_t *s1, int64_t *s2) {
  (void)h, (void)sign, (void)s1, (void)s2;
  return refuse();
}
static void release(void) {}
static void detach(void) {}
static const char *describe(void) { return ""; }

const rtk_backend_ops rtk_backend_cuda = {"cuda", check, attach, run, lin_sums, release, detach, describe};
