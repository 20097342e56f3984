/* rtkbench info FILE [--json]: the runs of a results file and their headline
 * metrics (serial HDF5 read on rank 0). */
#include <hdf5.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "io_hdf5.h"
#include "rtk/error.h"

typedef struct {
  int json, count;
} info_state;

static void json_num(const char *key, double v, int last) {
  if (v != v) printf("\"%s\": null%s", key, last ? "" : ", ");
  else printf("\"%s\": %.10g%s", key, v, last ? "" : ", ");
}

static herr_t visit(hid_t runs, const char *name, const H5L_info_t *info, void *user) {
  (void)info;
  info_state *s = user;
  hid_t g = H5Gopen2(runs, name, H5P_DEFAULT);
  if (g < 0) return 0;
  char sampler[64], status[32], sweep[512];
  rtk_h5_read_str_attr(g, "sampler", sampler, sizeof sampler);
  rtk_h5_read_str_attr(g, "status", status, sizeof status);
  rtk_h5_read_str_attr(g, "sweep", sweep, sizeof sweep);
  double nfe = rtk_h5_read_num_attr(g, "nfe"), N = rtk_h5_read_num_attr(g, "particles"), dim = rtk_h5_read_num_attr(g, "dim");
  double acc = NAN, floor_ = NAN, mode = NAN, accept = NAN, wall = NAN, nps = NAN, excess = NAN;
  if (H5Lexists(g, "metrics", H5P_DEFAULT) > 0) {
    hid_t m = H5Gopen2(g, "metrics", H5P_DEFAULT);
    acc = rtk_h5_read_scalar(m, "marginal_accuracy");
    floor_ = rtk_h5_read_scalar(m, "noise_floor");
    excess = rtk_h5_read_scalar(m, "excess_tv");
    mode = rtk_h5_read_scalar(m, "mode_tv");
    accept = rtk_h5_read_scalar(m, "acceptance_overall");
    wall = rtk_h5_read_scalar(m, "wall_time");
    nps = rtk_h5_read_scalar(m, "nfe_per_second");
    H5Gclose(m);
  }
  if (s->json) {
    printf("%s\n  {\"id\": \"%s\", \"sampler\": \"%s\", \"status\": \"%s\", \"sweep\": \"%s\", ", s->count ? "," : "",
           name, sampler, status, sweep);
    json_num("nfe", nfe, 0);
    json_num("particles", N, 0);
    json_num("dim", dim, 0);
    json_num("marginal_accuracy", acc, 0);
    json_num("noise_floor", floor_, 0);
    json_num("excess_tv", excess, 0);
    json_num("mode_tv", mode, 0);
    json_num("acceptance", accept, 0);
    json_num("wall_time", wall, 0);
    json_num("nfe_per_second", nps, 1);
    printf("}");
  } else {
    printf("%-22s %-15s %-9s %-26.26s %8.1f %9.0f %5.0f %9.4f %8.4f %8.4f %7.3f %9.2f\n", name, sampler, status,
           sweep[0] ? sweep : "-", nfe, N, dim, acc, 1 - floor_, mode, accept, wall);
  }
  s->count++;
  H5Gclose(g);
  return 0;
}

int rtk_info(const char *path, int json) {
  H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
  hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
  if (f < 0) return RTK_ERR(RTK_ERR_INPUT, "cannot open '%s' as an HDF5 file", path);
  char format[64], created[64], version[32];
  rtk_h5_read_str_attr(f, "format", format, sizeof format);
  if (strcmp(format, "rtkbench")) {
    H5Fclose(f);
    return RTK_ERR(RTK_ERR_INPUT, "'%s' is not an rtkbench results file (no format=\"rtkbench\" attribute)", path);
  }
  rtk_h5_read_str_attr(f, "created", created, sizeof created);
  rtk_h5_read_str_attr(f, "software_version", version, sizeof version);
  double fv = rtk_h5_read_num_attr(f, "format_version"), ranks = rtk_h5_read_num_attr(f, "mpi_ranks");
  info_state s = {json, 0};
  if (json)
    printf("{\"file\": \"%s\", \"format_version\": %.0f, \"software_version\": \"%s\", \"created\": \"%s\", "
           "\"mpi_ranks\": %.0f, \"runs\": [",
           path, fv, version, created, ranks);
  else
    printf("%s: rtkbench format %.0f, software %s, created %s on %.0f MPI ranks\n\n%-22s %-15s %-9s %-26s %8s %9s %5s "
           "%9s %8s %8s %7s %9s\n",
           path, fv, version, created, ranks, "run", "sampler", "status", "sweep", "NFE", "particles", "dim",
           "accuracy", "floor", "mode-TV", "accept", "wall[s]");
  if (H5Lexists(f, "runs", H5P_DEFAULT) > 0) {
    hid_t runs = H5Gopen2(f, "runs", H5P_DEFAULT);
    H5Literate(runs, H5_INDEX_NAME, H5_ITER_INC, NULL, visit, &s);
    H5Gclose(runs);
  }
  if (json) printf("\n]}\n");
  H5Fclose(f);
  return RTK_OK;
}
