/* MLP weights files (score.model = mlp): the reader and its MPI edge.
 * Rank 0 reads and validates each distinct score.file once (serial HDF5),
 * every rank learns the verdict (rtk_collective), then the weights are
 * broadcast and the runs point at their in-memory rtk_mlp.  The layout is in
 * docs/format.md ("MLP weights file"); analysis/train_score.py writes it. */
#include <hdf5.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io_hdf5.h"
#include "rtk/error.h"
#include "study.h"

#define MLP_FORMAT "rtkbench-mlp"

/* dataset `name` of shape [r] (c == 0) or [r][c], all finite, into buf */
static int read_matrix(hid_t f, const char *path, const char *name, int r, int c, double *buf) {
  if (H5Lexists(f, name, H5P_DEFAULT) <= 0)
    return RTK_ERR(RTK_ERR_INPUT, "score.file '%s': dataset /%s is missing", path, name);
  hid_t ds = H5Dopen2(f, name, H5P_DEFAULT);
  if (ds < 0) return RTK_ERR(RTK_ERR_INPUT, "score.file '%s': /%s is not a dataset", path, name);
  hid_t sp = H5Dget_space(ds);
  hsize_t dims[4] = {0, 0, 0, 0};
  const int nd = H5Sget_simple_extent_ndims(sp);
  if (nd >= 1 && nd <= 4) H5Sget_simple_extent_dims(sp, dims, NULL);
  H5Sclose(sp);
  const int want = c ? 2 : 1;
  if (nd != want || dims[0] != (hsize_t)r || (c && dims[1] != (hsize_t)c)) {
    char got[96], exp[64];
    if (nd == 1)
      snprintf(got, sizeof got, "[%llu]", (unsigned long long)dims[0]);
    else if (nd == 2)
      snprintf(got, sizeof got, "[%llu][%llu]", (unsigned long long)dims[0], (unsigned long long)dims[1]);
    else
      snprintf(got, sizeof got, "rank %d", nd);
    if (c)
      snprintf(exp, sizeof exp, "[%d][%d]", r, c);
    else
      snprintf(exp, sizeof exp, "[%d]", r);
    H5Dclose(ds);
    return RTK_ERR(RTK_ERR_INPUT, "score.file '%s': dataset /%s has shape %s, expected %s", path, name, got, exp);
  }
  herr_t e = H5Dread(ds, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf);
  H5Dclose(ds);
  if (e < 0) return RTK_ERR(RTK_ERR_INPUT, "score.file '%s': cannot read dataset /%s as float64", path, name);
  const size_t n = (size_t)r * (c ? c : 1);
  for (size_t i = 0; i < n; i++)
    if (!isfinite(buf[i]))
      return RTK_ERR(RTK_ERR_INPUT, "score.file '%s': dataset /%s holds a non-finite value (%g) at flat index %zu",
                     path, name, buf[i], i);
  return RTK_OK;
}

static int read_int_attr(hid_t f, const char *path, const char *name, int lo, int *v) {
  double x = rtk_h5_read_num_attr(f, name);
  if (isnan(x)) return RTK_ERR(RTK_ERR_INPUT, "score.file '%s': root attribute '%s' is missing", path, name);
  if (x != floor(x) || x < lo || x > 1e7)
    return RTK_ERR(RTK_ERR_INPUT, "score.file '%s': root attribute '%s' = %g is not an integer >= %d", path, name, x,
                   lo);
  *v = (int)x;
  return RTK_OK;
}

static int read_net(hid_t f, const char *path, int dim, rtk_mlp **out) {
  char fmt[64];
  rtk_h5_read_str_attr(f, "format", fmt, sizeof fmt);
  if (strcmp(fmt, MLP_FORMAT))
    return RTK_ERR(RTK_ERR_INPUT, "score.file '%s': not an MLP weights file (root attribute format is '%s', expected '%s')",
                   path, fmt, MLP_FORMAT);
  int version, d, width, depth, nfreq;
  RTK_CHECK(read_int_attr(f, path, "format_version", 1, &version));
  if (version != 1)
    return RTK_ERR(RTK_ERR_INPUT, "score.file '%s': format_version %d is not supported (this build reads 1)", path, version);
  RTK_CHECK(read_int_attr(f, path, "dim", 1, &d));
  RTK_CHECK(read_int_attr(f, path, "width", 1, &width));
  RTK_CHECK(read_int_attr(f, path, "depth", 1, &depth));
  RTK_CHECK(read_int_attr(f, path, "n_freq", 0, &nfreq));
  const double floor_ = rtk_h5_read_num_attr(f, "sigma_floor");
  if (!(floor_ > 0) || !isfinite(floor_))
    return RTK_ERR(RTK_ERR_INPUT, "score.file '%s': root attribute 'sigma_floor' is missing or not > 0", path);
  if (dim >= 0 && d != dim)
    return RTK_ERR(RTK_ERR_INPUT, "score.file '%s': the network is for dim %d, the target has dim %d", path, d, dim);
  rtk_mlp *net = NULL;
  RTK_CHECK(rtk_mlp_alloc(d, width, depth, nfreq, &net));
  net->sigma_floor = floor_;
  int rc = nfreq ? read_matrix(f, path, "time_freqs", nfreq, 0, net->freqs) : RTK_OK;
  for (int l = 0; l <= depth && !rc; l++) {
    char name[64];
    snprintf(name, sizeof name, "layers/%d/weight", l);
    rc = read_matrix(f, path, name, net->rows[l], net->cols[l], net->W[l]);
    snprintf(name, sizeof name, "layers/%d/bias", l);
    if (!rc) rc = read_matrix(f, path, name, net->rows[l], 0, net->b[l]);
  }
  char extra[64];
  snprintf(extra, sizeof extra, "layers/%d", depth + 1);
  if (!rc && H5Lexists(f, "layers", H5P_DEFAULT) > 0 && H5Lexists(f, extra, H5P_DEFAULT) > 0)
    rc = RTK_ERR(RTK_ERR_INPUT, "score.file '%s': group /%s exists but depth = %d means layers 0..%d", path, extra, depth,
                 depth);
  if (rc) {
    rtk_mlp_free(net);
    return rtk_error_trace(rc, __FILE__, __LINE__, __func__);
  }
  *out = net;
  return RTK_OK;
}

int rtk_mlp_read(const char *path, int dim, rtk_mlp **out) {
  *out = NULL;
  H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
  FILE *fp = fopen(path, "rb");
  if (!fp) return RTK_ERR(RTK_ERR_INPUT, "score.file '%s': cannot open it", path);
  fclose(fp);
  hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
  if (f < 0) return RTK_ERR(RTK_ERR_INPUT, "score.file '%s': not an HDF5 file", path);
  int rc = read_net(f, path, dim, out);
  H5Fclose(f);
  return rc ? rtk_error_trace(rc, __FILE__, __LINE__, __func__) : RTK_OK;
}

/* rank 0's network to every rank */
static int bcast_net(MPI_Comm comm, rtk_mlp **net) {
  int rank;
  MPI_Comm_rank(comm, &rank);
  int hdr[4] = {0, 0, 0, 0};
  double fl = 0;
  if (rank == 0) {
    hdr[0] = (*net)->d, hdr[1] = (*net)->width, hdr[2] = (*net)->depth, hdr[3] = (*net)->nfreq;
    fl = (*net)->sigma_floor;
  }
  MPI_Bcast(hdr, 4, MPI_INT, 0, comm);
  MPI_Bcast(&fl, 1, MPI_DOUBLE, 0, comm);
  int rc = rank == 0 ? RTK_OK : rtk_mlp_alloc(hdr[0], hdr[1], hdr[2], hdr[3], net);
  RTK_CHECK(rtk_collective(comm, rc));
  rtk_mlp *n = *net;
  n->sigma_floor = fl;
  if (n->nfreq) MPI_Bcast(n->freqs, n->nfreq, MPI_DOUBLE, 0, comm);
  for (int l = 0; l <= n->depth; l++) {
    MPI_Bcast(n->W[l], n->rows[l] * n->cols[l], MPI_DOUBLE, 0, comm);
    MPI_Bcast(n->b[l], n->rows[l], MPI_DOUBLE, 0, comm);
  }
  return RTK_OK;
}

int rtk_study_load_scores(MPI_Comm comm, rtk_study *st) {
  int rank;
  MPI_Comm_rank(comm, &rank);
  for (int i = 0; i < st->nruns; i++) {
    rtk_runspec *r = &st->runs[i];
    if (r->score != &rtk_score_mlp || r->net) continue;
    rtk_mlp *net = NULL;
    int rc = rank == 0 ? rtk_mlp_read(r->scc.file, r->tc.dim > 0 ? (int)r->tc.dim : -1, &net) : RTK_OK;
    RTK_CHECK(rtk_collective(comm, rc));
    RTK_CHECK(bcast_net(comm, &net));
    rtk_mlp **nets = realloc(st->nets, sizeof(rtk_mlp *) * (st->nnets + 1));
    if (!nets) {
      rtk_mlp_free(net);
      return RTK_ERR(RTK_ERR_MEM, "out of memory");
    }
    st->nets = nets;
    st->nets[st->nnets++] = net;
    for (int j = i; j < st->nruns; j++) /* every run of this file */
      if (st->runs[j].score == &rtk_score_mlp && !strcmp(st->runs[j].scc.file, r->scc.file)) {
        if (st->runs[j].tc.dim > 0 && st->runs[j].tc.dim != net->d)
          return RTK_ERR(RTK_ERR_INPUT, "score.file '%s': the network is for dim %d, run %s has a target of dim %lld",
                         r->scc.file, net->d, st->runs[j].id, (long long)st->runs[j].tc.dim);
        st->runs[j].net = net;
      }
  }
  return RTK_OK;
}
