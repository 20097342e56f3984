#include "rtk/grid.h"

#include <math.h>

#include "rtk/error.h"

double rtk_ve_sigma(double t) { return sqrt(expm1(2 * t)); }
double rtk_ve_time(double sigma) { return 0.5 * log1p(sigma * sigma); }

void rtk_karras_sigmas(double sigma_min, double sigma_max, double rho, int n, double *sig) {
  const double a = pow(sigma_max, 1 / rho), b = pow(sigma_min, 1 / rho);
  for (int i = 0; i < n; i++) sig[i] = pow(a + (double)i / (n - 1) * (b - a), rho);
  sig[0] = sigma_max;
  sig[n - 1] = sigma_min;
}

int rtk_grid_karras(double T, double t_min, double t_end, double rho, int S, double *times) {
  if (!(T > t_end)) return RTK_ERR(RTK_ERR_INPUT, "time horizon T=%g must exceed the end time %g", T, t_end);
  if (S < 1) return RTK_ERR(RTK_ERR_INPUT, "a grid needs at least one step (got %d)", S);
  if (!(rho > 0)) return RTK_ERR(RTK_ERR_INPUT, "karras grid needs rho > 0 (got %g)", rho);
  if (!(t_min > t_end && t_min < T))
    return RTK_ERR(RTK_ERR_INPUT, "karras grid needs end time < t_min < T (t_min=%g, T=%g, end=%g)", t_min, T, t_end);
  times[0] = T;
  if (S >= 2) {
    /* times[0..S-1] are the S EDM levels from sigma(T) to sigma(t_min) */
    rtk_karras_sigmas(rtk_ve_sigma(t_min), rtk_ve_sigma(T), rho, S, times);
    for (int i = 1; i < S - 1; i++) times[i] = rtk_ve_time(times[i]);
    times[0] = T;
    times[S - 1] = t_min;
  }
  times[S] = t_end;
  for (int i = 1; i <= S; i++)
    if (!(times[i] < times[i - 1]))
      return RTK_ERR(RTK_ERR_INPUT, "karras grid is not strictly decreasing at step %d (t=%g after %g)", i, times[i], times[i - 1]);
  return RTK_OK;
}

int rtk_grid_build(int kind, double T, double t_min, double t_end, const double *list, int nlist,
                   int S, double *times) {
  if (!(T > t_end)) return RTK_ERR(RTK_ERR_INPUT, "time horizon T=%g must exceed the end time %g", T, t_end);
  switch (kind) {
    case RTK_GRID_UNIFORM:
      if (S < 1) return RTK_ERR(RTK_ERR_INPUT, "a grid needs at least one step (got %d)", S);
      for (int i = 0; i <= S; i++) times[i] = T - (T - t_end) * i / S;
      times[S] = t_end;
      return RTK_OK;
    case RTK_GRID_GEOMETRIC:
      if (S < 1) return RTK_ERR(RTK_ERR_INPUT, "a grid needs at least one step (got %d)", S);
      if (!(t_min > t_end && t_min < T))
        return RTK_ERR(RTK_ERR_INPUT, "geometric grid needs end time < t_min < T (t_min=%g, T=%g, end=%g)", t_min, T, t_end);
      times[0] = T;
      for (int i = 1; i < S; i++) times[i] = T * pow(t_min / T, (double)i / (S - 1));
      times[S] = t_end;
      return RTK_OK;
    case RTK_GRID_KARRAS:
      return rtk_grid_karras(T, t_min, t_end, RTK_GRID_RHO_DEFAULT, S, times);
    case RTK_GRID_LIST:
      if (nlist < 2) return RTK_ERR(RTK_ERR_INPUT, "time list needs at least two times (T and the end time)");
      if (list[0] != T || list[nlist - 1] != t_end)
        return RTK_ERR(RTK_ERR_INPUT, "time list must start at T=%g and end at %g (got %g ... %g)", T, t_end, list[0], list[nlist - 1]);
      for (int i = 0; i < nlist; i++) {
        if (i && !(list[i] < list[i - 1]))
          return RTK_ERR(RTK_ERR_INPUT, "time list must decrease strictly (entry %d: %g after %g)", i, list[i], list[i - 1]);
        times[i] = list[i];
      }
      return RTK_OK;
  }
  return RTK_ERR(RTK_ERR_INPUT, "unknown grid kind %d", kind);
}
