/* Measured score error of a non-exact score model (issue 9, item 4): at every
 * grid time t_k, the relative mean-square error
 *   R_k = sum_i |s^(x_i) - s(x_i)|^2 / sum_i |s(x_i)|^2
 * on score.error_samples exact samples x_i of p_{t_k} (key (run seed, 2^61 + i),
 * disjoint from the particles' ids and from the perturbed model's calibration
 * samples), with its delta-method standard error.  The samples are split into
 * blocks of 256 (fixed, so that the sums do not depend on run.block), blocks are dealt to ranks like particles, and each
 * block's partial sums sit in their own slot of a zero-filled array: the
 * MPI_Allreduce adds one nonzero per slot (exact), and the blocks are then
 * summed in block order, so the result is bitwise independent of the rank
 * count. */
#include <stdlib.h>
#include <string.h>

#include "rtk/error.h"
#include "study.h"

#define ERR_ID0 (UINT64_C(1) << 61)

int rtk_score_error_measure(MPI_Comm comm, const rtk_score *score, const rtk_mixture *mix, const rtk_plan *plan,
                            int64_t nsamp, int64_t B, uint64_t seed, double *err, double *se) {
  int rank, size;
  MPI_Comm_rank(comm, &rank);
  MPI_Comm_size(comm, &size);
  const int S1 = plan->nseg + 1, d = mix->d;
  const int64_t nb = (nsamp + B - 1) / B, b0 = nb * rank / size, b1 = nb * (rank + 1) / size;
  double *part = calloc((size_t)nb * S1 * 5, sizeof(double));
  double *X = malloc(sizeof(double) * B * d), *Sa = malloc(sizeof(double) * B * d), *Sb = malloc(sizeof(double) * B * d);
  rtk_score_ws w, ex;
  memset(&w, 0, sizeof w);
  memset(&ex, 0, sizeof ex);
  int rc = part && X && Sa && Sb ? RTK_OK : RTK_ERR(RTK_ERR_MEM, "out of memory for the score-error samples");
  if (!rc) rc = rtk_score_ws_init(score, mix, (int)B, &w);
  if (!rc) rc = rtk_score_ws_init(NULL, mix, (int)B, &ex);
  for (int k = 0; k < S1 && !rc; k++) {
    const double t = plan->times[k];
    rtk_score_set_time(&w, t);
    rtk_score_set_time(&ex, t);
    for (int64_t b = b0; b < b1; b++) {
      const int64_t g0 = b * B;
      const int n = (int)(g0 + B <= nsamp ? B : nsamp - g0);
      rtk_mixture_sample(mix, t, seed, ERR_ID0 + (uint64_t)g0, n, X);
      rtk_score_error_sums(&w, &ex, d, n, X, part + ((size_t)b * S1 + k) * 5, Sa, Sb);
    }
  }
  rtk_score_ws_free(&w);
  rtk_score_ws_free(&ex);
  free(X);
  free(Sa);
  free(Sb);
  rc = rtk_collective(comm, rc);
  if (!rc) {
    MPI_Allreduce(MPI_IN_PLACE, part, (int)(nb * S1 * 5), MPI_DOUBLE, MPI_SUM, comm);
    for (int k = 0; k < S1; k++) {
      double sums[5] = {0, 0, 0, 0, 0};
      for (int64_t b = 0; b < nb; b++)
        for (int j = 0; j < 5; j++) sums[j] += part[((size_t)b * S1 + k) * 5 + j];
      rtk_score_error_ratio(sums, nsamp, &err[k], &se[k]);
    }
  }
  free(part);
  return rc;
}
