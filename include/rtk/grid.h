/* Time grids shared by all samplers: T = t_0 > t_1 > ... > t_S = t_end. */
#ifndef RTK_GRID_H
#define RTK_GRID_H

enum rtk_grid_kind { RTK_GRID_UNIFORM = 0, RTK_GRID_GEOMETRIC = 1, RTK_GRID_LIST = 2 };
#define RTK_GRID_CHOICES "uniform|geometric|list"

/* Fill times[0..S] for S = nsteps steps (for LIST, S = nlist - 1 and `list`
 * must start at T and decrease strictly to t_end).
 * uniform:   t_i = T - i (T - t_end)/S
 * geometric: t_i = T (t_min/T)^{i/(S-1)} for i < S, then t_S = t_end
 *            (S = 1 is the single step T -> t_end). */
int rtk_grid_build(int kind, double T, double t_min, double t_end, const double *list, int nlist,
                   int nsteps, double *times);

#endif
