/* rtkbench info FILE [--json] [--verify]: the runs of a results file and
 * their headline metrics (serial HDF5 read on rank 0).  Every value is read
 * through the bounded readers of io_hdf5.c; missing or malformed values are
 * shown as "-" (JSON null); --verify checks each complete run's checksum. */
#include <hdf5.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "io_hdf5.h"
#include "outfile.h"
#include "testhook.h"
#include "rtk/error.h"
#include "verify.h"

typedef struct {
  FILE *out;
  int json, verify, count, bad, checked;
  int nrng[2]; /* runs with run.rng = philox4x64, philox4x32 (attribute rng; absent in older files) */
  int nnorm[2]; /* runs with run.normal = box-muller, ziggurat (attribute normal; absent in older files) */
} info_state;

/* a JSON string literal: quotes, backslashes and control bytes escaped;
 * bytes >= 0x80 (not ASCII, as the format says) become \u00XX */
static void json_str(FILE *o, const char *s) {
  fputc('"', o);
  for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
    if (*p == '"' || *p == '\\') fprintf(o, "\\%c", *p);
    else if (*p < 0x20 || *p >= 0x7f) fprintf(o, "\\u%04x", *p);
    else fputc(*p, o);
  }
  fputc('"', o);
}

static void json_num(FILE *o, const char *key, double v, int last) {
  if (!isfinite(v)) fprintf(o, "\"%s\": null%s", key, last ? "" : ", ");
  else fprintf(o, "\"%s\": %.10g%s", key, v, last ? "" : ", ");
}

/* printable copy for the table: control bytes become '?' */
static void clean(char *s) {
  for (unsigned char *p = (unsigned char *)s; *p; p++)
    if (*p < 0x20 || *p == 0x7f) *p = '?';
}

static herr_t visit(hid_t runs, const char *name, const H5L_info_t *info, void *user) {
  (void)info;
  info_state *s = user;
  FILE *o = s->out;
  H5O_info_t oi;
  if (H5Oget_info_by_name(runs, name, &oi, H5P_DEFAULT) < 0 || oi.type != H5O_TYPE_GROUP) return 0;
  hid_t g = H5Gopen2(runs, name, H5P_DEFAULT);
  if (g < 0) return 0;
  char sampler[64], status[32], sweep[512], id[128], verdict[600] = "";
  snprintf(id, sizeof id, "%s", name);
  rtk_h5_read_str_attr(g, "sampler", sampler, sizeof sampler);
  rtk_h5_read_str_attr(g, "status", status, sizeof status);
  rtk_h5_read_str_attr(g, "sweep", sweep, sizeof sweep);
  char rng[32] = "";
  rtk_h5_read_str_attr(g, "rng", rng, sizeof rng);
  if (!strcmp(rng, "philox4x64")) s->nrng[0]++;
  else if (!strcmp(rng, "philox4x32")) s->nrng[1]++;
  char normal[32] = "";
  rtk_h5_read_str_attr(g, "normal", normal, sizeof normal);
  if (!strcmp(normal, "box-muller")) s->nnorm[0]++;
  else if (!strcmp(normal, "ziggurat")) s->nnorm[1]++;
  double nfe = rtk_h5_read_num_attr(g, "nfe"), N = rtk_h5_read_num_attr(g, "particles"), dim = rtk_h5_read_num_attr(g, "dim");
  double acc = NAN, floor_ = NAN, mode = NAN, accept = NAN, wall = NAN, nps = NAN, excess = NAN;
  double fd = NAN, fd_floor = NAN, fd_sd = NAN; /* absent (NaN -> null) without metrics.frechet */
  if (H5Lexists(g, "metrics", H5P_DEFAULT) > 0 && H5Oget_info_by_name(g, "metrics", &oi, H5P_DEFAULT) >= 0 &&
      oi.type == H5O_TYPE_GROUP) {
    hid_t m = H5Gopen2(g, "metrics", H5P_DEFAULT);
    if (m >= 0) {
      acc = rtk_h5_read_scalar(m, "marginal_accuracy");
      floor_ = rtk_h5_read_scalar(m, "noise_floor");
      excess = rtk_h5_read_scalar(m, "excess_tv");
      mode = rtk_h5_read_scalar(m, "mode_tv");
      accept = rtk_h5_read_scalar(m, "acceptance_overall");
      wall = rtk_h5_read_scalar(m, "wall_time");
      nps = rtk_h5_read_scalar(m, "nfe_per_second");
      fd = rtk_h5_read_scalar(m, "frechet_distance");
      fd_floor = rtk_h5_read_scalar(m, "frechet_floor");
      fd_sd = rtk_h5_read_scalar(m, "frechet_floor_sd");
      H5Gclose(m);
    }
  }
  H5Gclose(g);
  if (s->verify) {
    int state = RTK_RUN_ABSENT;
    char why[512];
    why[0] = '\0';
    hid_t f = H5Iget_file_id(runs);
    if (f >= 0) {
      if (strlen(name) < 100) rtk_results_run_state(f, name, &state, why, sizeof why);
      else snprintf(why, sizeof why, "run name too long");
      H5Fclose(f);
    }
    if (state == RTK_RUN_COMPLETE) {
      s->checked++;
      snprintf(verdict, sizeof verdict, "ok");
    } else if (state == RTK_RUN_BAD) {
      s->bad++;
      snprintf(verdict, sizeof verdict, "FAILED: %s", why);
    } else {
      snprintf(verdict, sizeof verdict, "incomplete");
    }
  }
  if (s->json) {
    fprintf(o, "%s\n  {\"id\": ", s->count ? "," : "");
    json_str(o, id);
    fprintf(o, ", \"sampler\": ");
    json_str(o, sampler);
    fprintf(o, ", \"status\": ");
    json_str(o, status);
    fprintf(o, ", \"sweep\": ");
    json_str(o, sweep);
    fprintf(o, ", \"rng\": ");
    if (rng[0]) json_str(o, rng);
    else fprintf(o, "null");
    fprintf(o, ", \"normal\": ");
    if (normal[0]) json_str(o, normal);
    else fprintf(o, "null");
    fprintf(o, ", ");
    if (s->verify) {
      fprintf(o, "\"verify\": ");
      json_str(o, verdict);
      fprintf(o, ", ");
    }
    json_num(o, "nfe", nfe, 0);
    json_num(o, "particles", N, 0);
    json_num(o, "dim", dim, 0);
    json_num(o, "marginal_accuracy", acc, 0);
    json_num(o, "noise_floor", floor_, 0);
    json_num(o, "excess_tv", excess, 0);
    json_num(o, "mode_tv", mode, 0);
    json_num(o, "frechet_distance", fd, 0);
    json_num(o, "frechet_floor", fd_floor, 0);
    json_num(o, "frechet_floor_sd", fd_sd, 0);
    json_num(o, "acceptance", accept, 0);
    json_num(o, "wall_time", wall, 0);
    json_num(o, "nfe_per_second", nps, 1);
    fprintf(o, "}");
  } else {
    clean(id);
    clean(sampler);
    clean(status);
    clean(sweep);
    clean(verdict);
    fprintf(o, "%-22s %-15s %-9s %-26.26s %8.1f %9.0f %5.0f %9.4f %8.4f %8.4f %7.3f %9.2f%s%s\n", id, sampler, status,
            sweep[0] ? sweep : "-", nfe, N, dim, acc, 1 - floor_, mode, accept, wall, s->verify ? "  " : "", verdict);
  }
  s->count++;
  return 0;
}

int rtk_info_file(hid_t f, const char *path, int json, int verify, FILE *o) {
  int64_t nruns = 0;
  RTK_CHECK(rtk_results_header(f, path, &nruns));
  char created[64], version[32], ppath[1100];
  rtk_h5_read_str_attr(f, "created", created, sizeof created);
  rtk_h5_read_str_attr(f, "software_version", version, sizeof version);
  snprintf(ppath, sizeof ppath, "%s", path);
  const double ranks = rtk_h5_read_num_attr(f, "mpi_ranks");
  info_state s = {o, json, verify, 0, 0, 0, {0, 0}, {0, 0}};
  /* BLAS provenance (root attributes; absent in files written before it was recorded) */
  static const char *const bkeys[] = {"blas_library", "blas_version", "blas_core", "blas_path", "blas_autofix", "cpu_isa"};
  char bval[6][512];
  for (int i = 0; i < 6; i++) rtk_h5_read_str_attr(f, bkeys[i], bval[i], sizeof bval[i]);
  const double bthreads = rtk_h5_read_num_attr(f, "blas_threads");
  if (json) {
    fprintf(o, "{\"file\": ");
    json_str(o, path);
    fprintf(o, ", \"format_version\": %d, \"software_version\": ", RTK_FORMAT_VERSION);
    json_str(o, version);
    fprintf(o, ", \"created\": ");
    json_str(o, created);
    fprintf(o, ", ");
    json_num(o, "mpi_ranks", ranks, 0);
    fprintf(o, "\"blas\": {");
    for (int i = 0; i < 6; i++) {
      fprintf(o, "\"%s\": ", bkeys[i] + (i < 5 ? 5 : 0));
      if (bval[i][0] || H5Aexists(f, bkeys[i]) > 0) json_str(o, bval[i]);
      else fprintf(o, "null");
      fprintf(o, ", ");
    }
    json_num(o, "threads", bthreads, 1);
    fprintf(o, "}, ");
    fprintf(o, "\"study_runs\": %lld, \"runs\": [", (long long)nruns);
  } else {
    clean(ppath);
    clean(version);
    clean(created);
    for (int i = 0; i < 6; i++) clean(bval[i]);
    fprintf(o, "%s: rtkbench format %d, software %s, created %s on %.0f MPI ranks, %lld runs in the study\n", ppath,
            RTK_FORMAT_VERSION, version, created, ranks, (long long)nruns);
    if (bval[0][0])
      fprintf(o, "BLAS: %s, core %s, %.0f thread%s, CPU %s%s%s (%s)\n", bval[1][0] ? bval[1] : bval[0],
              bval[2][0] ? bval[2] : "?", bthreads, bthreads == 1 ? "" : "s", bval[5], bval[4][0] ? ", autofix " : "",
              bval[4], bval[3][0] ? bval[3] : "library path unknown");
    fprintf(o, "\n%-22s %-15s "
            "%-9s %-26s %8s %9s %5s %9s %8s %8s %7s %9s%s\n",
            "run", "sampler", "status", "sweep",
            "NFE", "particles", "dim", "accuracy", "floor", "mode-TV", "accept", "wall[s]", verify ? "  verify" : "");
  }
  if (H5Lexists(f, "runs", H5P_DEFAULT) > 0) {
    hid_t runs = H5Gopen2(f, "runs", H5P_DEFAULT);
    if (runs >= 0) {
      H5Literate(runs, H5_INDEX_NAME, H5_ITER_INC, NULL, visit, &s);
      H5Gclose(runs);
    }
  }
  if (!json && (s.nrng[0] || s.nrng[1]))
    fprintf(o, "\nrandom numbers (run.rng): philox4x64 in %d run%s, philox4x32 in %d run%s\n", s.nrng[0],
            s.nrng[0] == 1 ? "" : "s", s.nrng[1], s.nrng[1] == 1 ? "" : "s");
  if (!json && (s.nnorm[0] || s.nnorm[1]))
    fprintf(o, "normals (run.normal): box-muller in %d run%s, ziggurat in %d run%s\n", s.nnorm[0],
            s.nnorm[0] == 1 ? "" : "s", s.nnorm[1], s.nnorm[1] == 1 ? "" : "s");
  if (json) fprintf(o, "\n]}\n");
  else if (verify) fprintf(o, "\nverify: %d complete run%s verified, %d failed\n", s.checked, s.checked == 1 ? "" : "s", s.bad);
  if (s.bad)
    return RTK_ERR(RTK_ERR_INPUT, "'%s': %d run%s marked complete fail%s verification (see the table)", path, s.bad,
                   s.bad == 1 ? "" : "s", s.bad == 1 ? "s" : "");
  return RTK_OK;
}

/* read under a shared lock: never while a writer holds the file (outfile.h) */
int rtk_info(const char *path, int json, int verify) {
  H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
  int lockfd = -1;
  RTK_CHECK(rtk_out_read_lock(path, &lockfd));
  rtk_test_pause("info"); /* tests start a writer here (RTK_TEST_PAUSE=info) */
  hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
  int rc = f < 0 ? RTK_ERR(RTK_ERR_INPUT, "cannot open '%s' as an HDF5 file", path) : RTK_OK;
  if (!rc) rc = rtk_info_file(f, path, json, verify, stdout);
  fflush(stdout);
  if (f >= 0) H5Fclose(f);
  rtk_out_read_unlock(path, lockfd);
  return rc;
}
