/* Output file handling on rank 0: lock, race-free creation, safe removal. */
#ifndef RTK_APP_OUTFILE_H
#define RTK_APP_OUTFILE_H
#include <sys/types.h>

/* longest output path accepted (Open MPI's MPI-IO layer keeps file names in
 * fixed buffers; longer names abort inside it) */
#define RTK_OUT_PATH_MAX 200

typedef struct rtk_outfile {
  char path[RTK_OUT_PATH_MAX + 8];
  char lockpath[RTK_OUT_PATH_MAX + 16];
  char tmppath[RTK_OUT_PATH_MAX + 16]; /* PATH.tmp: a new file until its header is on disk */
  int lockfd;  /* held fcntl lock on lockpath, or -1 */
  int exists;  /* an existing regular file opened for --resume */
  int created; /* this invocation created the file (dev/ino identify it) */
  int pending; /* it is still at tmppath (rtk_out_publish renames it) */
  int replace; /* --force: publishing replaces an existing regular file */
  dev_t dev;
  ino_t ino;
} rtk_outfile;

/* length and form of an output path (any rank, no I/O) */
int rtk_out_check_path(const char *path);
/* Lock PATH.lock, then: for a missing path (or --force on a regular file)
 * a new file PATH.tmp is created with O_EXCL; an existing regular file is
 * kept for --resume, refused without --force; anything else (directory,
 * device, FIFO, symbolic link) is refused and never touched. */
int rtk_out_acquire(rtk_outfile *o, const char *path, int force, int resume);
/* the name the file has now (PATH.tmp until published) */
const char *rtk_out_name(const rtk_outfile *o);
/* rename PATH.tmp to PATH (a valid HDF5 file by then): PATH only ever names
 * a valid results file */
int rtk_out_publish(rtk_outfile *o);
/* unlink the output if this invocation created it and it is still that file */
void rtk_out_remove_created(rtk_outfile *o);
/* PATH left mid-commit by a killed writer (a hot journal): put its last
 * committed state back, with a note on stderr (caller holds the lock) */
int rtk_out_recover(const char *path);
/* readers: a shared lock on PATH.lock (refused with exit 2 while a writer
 * holds it; none where the lock file cannot be made), after rolling back a
 * hot journal; *lockfd is -1 without a lock */
int rtk_out_read_lock(const char *path, int *lockfd);
void rtk_out_read_unlock(const char *path, int lockfd);
/* drop the lock (and its file) */
void rtk_out_release(rtk_outfile *o);

#endif
