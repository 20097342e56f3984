/* libFuzzer target: the results-file readers behind `info [--json]
 * [--verify]` and `run --resume` (header checks, run states, checksums,
 * bounded attribute and dataset reads).
 *
 * The input does not feed HDF5's own parser (libhdf5 is not ours to fix);
 * it is a program that builds a well-formed HDF5 file in memory with
 * hostile *content*: the names, classes, ranks, shapes and sizes of the
 * attributes, groups and datasets rtkbench reads, taken from the bytes.
 * Then every reader runs on it.  Nothing may crash, overflow or hang. */
#include <hdf5.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "io_hdf5.h"
#include "rtk/error.h"
#include "verify.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct {
  const uint8_t *p;
  size_t n;
} input;

static unsigned take(input *in) {
  if (!in->n) return 0;
  in->n--;
  return *in->p++;
}

static const char *const names[] = {
    "format", "format_version", "runs", "study_digest", "status", "checksum", "sampler", "nfe", "particles", "dim",
    "sweep", "config", "samples", "times", "metrics", "marginal_accuracy", "noise_floor", "mode_tv", "target",
    "weights", "acceptance_overall", "wall_time", "created", "mpi_ranks", "0000-exact", "0001-ddpm", "boundaries",
    "trace", "states", "9999-x\"\\\x01", "nfe_per_second", "software_version"};
#define NNAMES (sizeof names / sizeof names[0])

static const char *const strings[] = {"rtkbench", "complete", "running", "", "rtk1-00000000000000000000000000000000",
                                      "exact", "x\"y\\z\x1f", "[run]\nparticles = 10\n"};
#define NSTRINGS (sizeof strings / sizeof strings[0])

/* a datatype from one byte: float64, int64, int8, float32, fixed or variable string */
static hid_t make_type(unsigned b, size_t *esize) {
  hid_t t;
  switch (b % 6) {
    case 0: t = H5Tcopy(H5T_NATIVE_DOUBLE); break;
    case 1: t = H5Tcopy(H5T_NATIVE_INT64); break;
    case 2: t = H5Tcopy(H5T_NATIVE_INT8); break;
    case 3: t = H5Tcopy(H5T_NATIVE_FLOAT); break;
    case 4:
      t = H5Tcopy(H5T_C_S1);
      H5Tset_size(t, 1 + (b / 6) % 40);
      break;
    default:
      t = H5Tcopy(H5T_C_S1);
      H5Tset_size(t, H5T_VARIABLE);
      break;
  }
  *esize = H5Tget_size(t);
  return t;
}

/* a dataspace from one byte: scalar, null, or rank 1..3 with small extents */
static hid_t make_space(input *in, hsize_t *npts) {
  unsigned b = take(in), rank = b % 5;
  if (rank == 4) {
    *npts = 0;
    return H5Screate(H5S_NULL);
  }
  if (rank == 0) {
    *npts = 1;
    return H5Screate(H5S_SCALAR);
  }
  hsize_t dims[3];
  *npts = 1;
  for (unsigned i = 0; i < rank; i++) {
    dims[i] = take(in) % 7;
    *npts *= dims[i];
  }
  return H5Screate_simple((int)rank, dims, NULL);
}

/* fill a buffer for npts elements of type t (variable strings: pointers to constants) */
static void *make_data(input *in, hid_t t, size_t esize, hsize_t npts) {
  const int vlen = H5Tis_variable_str(t) > 0;
  void *buf = calloc(npts ? npts : 1, esize ? esize : 1);
  if (!buf) return NULL;
  for (hsize_t i = 0; i < npts; i++) {
    unsigned b = take(in);
    if (vlen) {
      ((const char **)buf)[i] = strings[b % NSTRINGS];
    } else if (H5Tget_class(t) == H5T_STRING) {
      snprintf((char *)buf + i * esize, esize, "%s", strings[b % NSTRINGS]);
    } else if (H5Tget_class(t) == H5T_FLOAT && esize == 8) {
      static const double v[] = {0, 1, 2, -1, 0.5, 1e308, -0.0, 3};
      double x = b < 8 ? v[b] : (b == 8 ? (double)NAN : b == 9 ? (double)INFINITY : (double)b);
      memcpy((char *)buf + i * esize, &x, 8);
    } else {
      for (size_t k = 0; k < esize; k++) ((unsigned char *)buf)[i * esize + k] = (unsigned char)(k ? 0 : b);
    }
  }
  return buf;
}

static void add_attr(hid_t obj, input *in) {
  const char *name = names[take(in) % NNAMES];
  size_t esize;
  hsize_t npts;
  hid_t t = make_type(take(in), &esize), sp = make_space(in, &npts);
  void *buf = make_data(in, t, esize, npts);
  if (H5Aexists(obj, name) > 0) H5Adelete(obj, name);
  hid_t a = H5Acreate2(obj, name, t, sp, H5P_DEFAULT, H5P_DEFAULT);
  if (a >= 0) {
    if (buf && npts) H5Awrite(a, t, buf);
    H5Aclose(a);
  }
  free(buf);
  H5Sclose(sp);
  H5Tclose(t);
}

static void add_dataset(hid_t g, input *in) {
  const char *name = names[take(in) % NNAMES];
  if (H5Lexists(g, name, H5P_DEFAULT) > 0) return;
  size_t esize;
  hsize_t npts;
  hid_t t = make_type(take(in), &esize), sp = make_space(in, &npts);
  void *buf = make_data(in, t, esize, npts);
  hid_t d = H5Dcreate2(g, name, t, sp, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  if (d >= 0) {
    if (buf && npts) H5Dwrite(d, t, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf);
    H5Dclose(d);
  }
  free(buf);
  H5Sclose(sp);
  H5Tclose(t);
}

/* build a tree of at most a few groups: op codes pick attribute, dataset, subgroup, up */
static void build(hid_t root, input *in) {
  hid_t stack[5] = {root, -1, -1, -1, -1};
  int top = 0;
  for (int ops = 0; in->n && ops < 64; ops++) {
    unsigned op = take(in) % 4;
    hid_t cur = stack[top];
    if (op == 0) add_attr(cur, in);
    else if (op == 1) add_dataset(cur, in);
    else if (op == 2 && top < 4) {
      const char *name = names[take(in) % NNAMES];
      hid_t g = H5Lexists(cur, name, H5P_DEFAULT) > 0 ? H5Gopen2(cur, name, H5P_DEFAULT)
                                                       : H5Gcreate2(cur, name, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
      if (g >= 0) stack[++top] = g;
    } else if (op == 3 && top > 0) {
      H5Gclose(stack[top--]);
    }
  }
  while (top > 0) H5Gclose(stack[top--]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static FILE *sink;
  if (!sink) {
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    sink = fopen("/dev/null", "w");
  }
  if (size > 4096) return 0;
  input in = {data, size};
  hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
  H5Pset_fapl_core(fapl, 1 << 16, 0); /* in memory, never written anywhere */
  hid_t f = H5Fcreate("fuzz_results.h5", H5F_ACC_TRUNC, H5P_DEFAULT, fapl);
  H5Pclose(fapl);
  if (f < 0) return 0;
  build(f, &in);
  rtk_info_file(f, "fuzz.h5", 0, 1, sink);
  rtk_info_file(f, "fuzz.h5", 1, 1, sink);
  int64_t nruns;
  rtk_results_header(f, "fuzz.h5", &nruns);
  static const char *ids[] = {"0000-exact", "0001-ddpm", "9999-x\"\\\x01", "missing"};
  for (int i = 0; i < 4; i++) {
    int state;
    char why[256];
    rtk_results_run_state(f, ids[i], &state, why, sizeof why);
  }
  char buf[64];
  rtk_h5_read_str_attr(f, "format", buf, sizeof buf);
  (void)rtk_h5_read_num_attr(f, "runs");
  free(rtk_h5_read_text(f, "config"));
  rtk_error_clear();
  H5Fclose(f);
  return 0;
}
