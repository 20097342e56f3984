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
  int lockfd;  /* held fcntl lock on lockpath, or -1 */
  int exists;  /* an existing regular file opened for --resume */
  int created; /* this invocation created path (dev/ino identify it) */
  dev_t dev;
  ino_t ino;
} rtk_outfile;

/* length and form of an output path (any rank, no I/O) */
int rtk_out_check_path(const char *path);
/* Lock PATH.lock, then: a missing path is created empty with O_EXCL; an
 * existing regular file is kept for --resume, replaced by a new file with
 * --force, refused otherwise; anything else (directory, device, FIFO,
 * symbolic link) is refused and never touched. */
int rtk_out_acquire(rtk_outfile *o, const char *path, int force, int resume);
/* unlink the output if this invocation created it and it is still that file */
void rtk_out_remove_created(rtk_outfile *o);
/* drop the lock (and its file) */
void rtk_out_release(rtk_outfile *o);

#endif
