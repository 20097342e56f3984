/* Time grids shared by all samplers: T = t_0 > t_1 > ... > t_S = t_end. */
#ifndef RTK_GRID_H
#define RTK_GRID_H

enum rtk_grid_kind { RTK_GRID_UNIFORM = 0, RTK_GRID_GEOMETRIC = 1, RTK_GRID_LIST = 2, RTK_GRID_KARRAS = 3 };
#define RTK_GRID_CHOICES "uniform|geometric|list|karras"
#define RTK_GRID_RHO_DEFAULT 7.0

/* Fill times[0..S] for S = nsteps steps (for LIST, S = nlist - 1 and `list`
 * must start at T and decrease strictly to t_end).
 * uniform:   t_i = T - i (T - t_end)/S
 * geometric: t_i = T (t_min/T)^{i/(S-1)} for i < S, then t_S = t_end
 *            (S = 1 is the single step T -> t_end).
 * karras:    the EDM schedule (Karras et al. 2022, eq. 5) in the VE noise
 *            level sigma = sigma_t / alpha_t = sqrt(e^{2t} - 1), n = S points
 *            sigma_i = (smax^{1/rho} + i/(n-1) (smin^{1/rho} - smax^{1/rho}))^rho,
 *            smax = sigma(T), smin = sigma(t_min), mapped back by
 *            t = log(1 + sigma^2) / 2, then t_S = t_end (rho = 7 here; see
 *            rtk_grid_karras).  S = 1 is the single step T -> t_end. */
int rtk_grid_build(int kind, double T, double t_min, double t_end, const double *list, int nlist,
                   int nsteps, double *times);

/* the karras grid with a given rho (> 0) */
int rtk_grid_karras(double T, double t_min, double t_end, double rho, int nsteps, double *times);
/* the published EDM noise levels: sig[i], i = 0..n-1 (n >= 2) */
void rtk_karras_sigmas(double sigma_min, double sigma_max, double rho, int n, double *sig);
/* VE noise level of OU time t and its inverse */
double rtk_ve_sigma(double t);   /* sqrt(e^{2t} - 1) = sigma_t / alpha_t */
double rtk_ve_time(double sigma); /* log(1 + sigma^2) / 2 */

#endif
