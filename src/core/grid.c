#include "rtk/grid.h"

#include <math.h>

#include "rtk/error.h"

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
