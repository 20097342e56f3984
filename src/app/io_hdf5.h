/* Parallel HDF5 (MPI-IO) output, collective throughout: every rank calls every
 * function with the same arguments except for its own hyperslab of particles.
 * Failures are returned as RTK_ERR_IO with the object's name. */
#ifndef RTK_APP_IO_HDF5_H
#define RTK_APP_IO_HDF5_H
#include <hdf5.h>
#include <mpi.h>
#include <stdint.h>

#define RTK_FORMAT_VERSION 1
/* largest text dataset a reader accepts (/config, /runs/<id>/config) */
#define RTK_H5_TEXT_MAX ((size_t)16 << 20)

/* Checksum of a run's datasets (two 64-bit lanes, summed modulo 2^64 over
 * rows, so any split of the rows between ranks gives the same value; see
 * docs/format.md, "checksum").  While a sum is active (between begin and
 * end), every dataset written through this module is added to it. */
typedef struct rtk_h5_sum {
  uint64_t a, b;
} rtk_h5_sum;
void rtk_h5_sum_begin(rtk_h5_sum *sum);
void rtk_h5_sum_end(void);
/* the dataset's path, class, element size and shape (added once per dataset) */
void rtk_h5_sum_header(rtk_h5_sum *s, const char *path, int cls, size_t esize, int rank, const hsize_t *dims);
/* rows row0..row0+n-1 (a row is the last dimension; rowbytes bytes each) */
void rtk_h5_sum_rows(rtk_h5_sum *s, const char *path, uint64_t row0, uint64_t n, size_t rowbytes,
                     const unsigned char *data);
/* header and every row of a whole dataset held in memory */
void rtk_h5_sum_dataset(rtk_h5_sum *s, const char *path, int cls, size_t esize, int rank, const hsize_t *dims,
                        const void *data);
void rtk_h5_sum_hex(const rtk_h5_sum *s, char hex[40]); /* "rtk1-" + 32 hex digits */
/* the hash of a byte string in the same two lanes (study digest) */
void rtk_h5_hash_text(const char *text, size_t n, rtk_h5_sum *s);
/* recompute the checksum of the datasets below group g (full path gpath) from the file */
int rtk_h5_sum_group(hid_t g, const char *gpath, rtk_h5_sum *sum);

/* agree an error code across the open file's communicator (identity when serial) */
int rtk_h5_agree(int rc);
/* collective flush of the whole file, agreed */
int rtk_h5_flush(hid_t file);

int rtk_h5_create(MPI_Comm comm, const char *path, hid_t *file);
/* collective close, agreed; quiet: keep the current error message (error paths) */
int rtk_h5_close(hid_t file, int quiet);
/* nonzero once a close failed on any rank: HDF5's own clean-up in
 * MPI_Finalize would then crash, so the process must exit without it */
int rtk_h5_unclean(void);
/* leave an open file as the last flush left it (error paths): nothing more
 * is written, and the process must exit without MPI_Finalize */
void rtk_h5_abandon(hid_t file);
/* open an existing file for collective read-write (--resume) */
int rtk_h5_open_rw(MPI_Comm comm, const char *path, hid_t *file);
/* readers (any rank, any file); missing objects give NaN / "" */
double rtk_h5_read_scalar(hid_t loc, const char *name);
double rtk_h5_read_num_attr(hid_t obj, const char *name);
void rtk_h5_read_str_attr(hid_t obj, const char *name, char *buf, size_t len);
/* malloc'd text of a string dataset, or NULL */
char *rtk_h5_read_text(hid_t loc, const char *name);
int rtk_h5_group(hid_t loc, const char *name, hid_t *group);
/* an unlinked group that will become final_path (rtk_h5_link): a run is
 * written here and linked only once it is complete and on disk */
int rtk_h5_group_anon(hid_t file, const char *final_path, hid_t *group);
int rtk_h5_link(hid_t file, const char *path, hid_t obj);
int rtk_h5_attr_str(hid_t obj, const char *name, const char *value);
/* fixed-size string attribute (so it can be rewritten in place, e.g. status) */
int rtk_h5_attr_str_fixed(hid_t obj, const char *name, const char *value, size_t size);
int rtk_h5_attr_i64(hid_t obj, const char *name, int64_t value);
int rtk_h5_attr_f64(hid_t obj, const char *name, double value);
/* Small replicated arrays (same data on every rank; rank 0 writes).
 * rank 0 means a scalar. */
int rtk_h5_write_f64(hid_t loc, const char *name, int rank, const hsize_t *dims, const double *data, int writer);
int rtk_h5_write_i64(hid_t loc, const char *name, int rank, const hsize_t *dims, const int64_t *data, int writer);
int rtk_h5_write_text(hid_t loc, const char *name, const char *text, int writer);
/* Distributed particle arrays: the global dataset is [planes][N][d] (or
 * [N][d] when planes == 0); this rank holds rows row0..row0+nloc-1 of every
 * plane, stored [planes][nloc][d]. */
int rtk_h5_write_rows(hid_t loc, const char *name, hsize_t planes, hsize_t N, hsize_t d, hsize_t row0,
                      hsize_t nloc, const double *data);

#endif
