/* The output file's life on rank 0: one writer per file (a lock file held
 * for the whole run), creation without a check-then-create gap, and removal
 * only of what this invocation created (docs/format.md, "Guarantees"). */
#define _DEFAULT_SOURCE
#include "outfile.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "journal.h"
#include "rtk/error.h"

int rtk_out_check_path(const char *path) {
  const size_t n = strlen(path);
  if (!n) return RTK_ERR(RTK_ERR_INPUT, "empty output file name");
  if (n > RTK_OUT_PATH_MAX)
    return RTK_ERR(RTK_ERR_INPUT, "output path '%.60s...' is %zu bytes long; at most %d are allowed (MPI-IO limit)", path,
                   n, RTK_OUT_PATH_MAX);
  if (path[n - 1] == '/') return RTK_ERR(RTK_ERR_INPUT, "output '%s' names a directory", path);
  return RTK_OK;
}

/* The one locking protocol of writers and readers: open PATH.lock, take an
 * fcntl lock of `type` without waiting, and keep it only if the file is still
 * the one at that name (a releasing writer unlinks it while still holding the
 * lock).  Returns 0 with *fdp set; -errno if the lock file cannot be opened;
 * EAGAIN if another process holds a conflicting lock; ESTALE if the lock file
 * kept changing; any other errno if the file system refuses fcntl locks. */
static int lock_file(const char *lp, short type, int readonly_ok, int *fdp) {
  *fdp = -1;
  for (int attempt = 0; attempt < 5; attempt++) {
    int fd = open(lp, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
    if (fd < 0 && readonly_ok) fd = open(lp, O_RDONLY | O_CLOEXEC | O_NOFOLLOW); /* a read-only directory */
    if (fd < 0) return -(errno ? errno : ENOENT);
    struct flock fl;
    memset(&fl, 0, sizeof fl);
    fl.l_type = type;
    fl.l_whence = SEEK_SET;
    if (fcntl(fd, F_SETLK, &fl) != 0) {
      const int e = errno;
      close(fd);
      return e == EACCES || e == EAGAIN ? EAGAIN : e;
    }
    struct stat a, b;
    if (fstat(fd, &a) == 0 && stat(lp, &b) == 0 && a.st_dev == b.st_dev && a.st_ino == b.st_ino) {
      *fdp = fd;
      return 0;
    }
    close(fd); /* the lock file was replaced while we waited: try again */
  }
  return ESTALE;
}

/* Take the lock file PATH.lock for writing (exclusive), and write our pid into it. */
static int take_lock(rtk_outfile *o) {
  const int e = lock_file(o->lockpath, F_WRLCK, 0, &o->lockfd);
  if (e < 0) return RTK_ERR(RTK_ERR_INPUT, "cannot create the lock file '%s': %s", o->lockpath, strerror(-e));
  if (e == EAGAIN)
    return RTK_ERR(RTK_ERR_INPUT,
                   "'%s' is in use by another rtkbench process (it holds the lock '%s'); wait for it to "
                   "finish or choose another output file",
                   o->path, o->lockpath);
  if (e == ESTALE) return RTK_ERR(RTK_ERR_INPUT, "cannot lock '%s': the lock file keeps changing", o->lockpath);
  if (e)
    return RTK_ERR(RTK_ERR_INPUT, "cannot lock '%s': %s (the file system must support fcntl locks)", o->lockpath,
                   strerror(e));
  char pid[32];
  int n = snprintf(pid, sizeof pid, "%ld\n", (long)getpid());
  if (ftruncate(o->lockfd, 0) == 0 && write(o->lockfd, pid, (size_t)n) < 0) { /* informative only */
  }
  return RTK_OK;
}

static int create_parent(const char *path) {
  char dirbuf[RTK_OUT_PATH_MAX + 8];
  snprintf(dirbuf, sizeof dirbuf, "%s", path);
  const char *dir = dirname(dirbuf);
  struct stat sb;
  if (stat(dir, &sb) != 0 && mkdir(dir, 0777) != 0 && errno != EEXIST)
    return RTK_ERR(RTK_ERR_INPUT, "cannot create output directory '%s': %s", dir, strerror(errno));
  if (stat(dir, &sb) != 0 || !S_ISDIR(sb.st_mode))
    return RTK_ERR(RTK_ERR_INPUT, "output directory '%s' is not a directory", dir);
  if (access(dir, W_OK) != 0)
    return RTK_ERR(RTK_ERR_INPUT, "output directory '%s' is not writable: %s", dir, strerror(errno));
  return RTK_OK;
}

/* create the temporary file exclusively: it is ours from now on */
static int create_new(rtk_outfile *o) {
  struct stat sb;
  /* a stale temporary of a crashed run (we hold the lock, so nobody else's) */
  if (lstat(o->tmppath, &sb) == 0) {
    if (!S_ISREG(sb.st_mode))
      return RTK_ERR(RTK_ERR_INPUT, "'%s' exists and is not a regular file; it is left alone", o->tmppath);
    if (unlink(o->tmppath) != 0)
      return RTK_ERR(RTK_ERR_INPUT, "cannot remove the stale '%s': %s", o->tmppath, strerror(errno));
  }
  int fd = open(o->tmppath, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644);
  if (fd < 0) return RTK_ERR(RTK_ERR_INPUT, "cannot create '%s': %s", o->tmppath, strerror(errno));
  if (fstat(fd, &sb) != 0) {
    close(fd);
    unlink(o->tmppath);
    return RTK_ERR(RTK_ERR_IO, "cannot stat '%s': %s", o->tmppath, strerror(errno));
  }
  close(fd);
  o->created = 1;
  o->pending = 1;
  o->dev = sb.st_dev;
  o->ino = sb.st_ino;
  return RTK_OK;
}

int rtk_out_publish(rtk_outfile *o) {
  if (!o->pending) return RTK_OK;
  struct stat sb;
  /* the name must still be free (fresh) or a regular file (--force replaces it) */
  if (lstat(o->path, &sb) == 0 && (!o->replace || !S_ISREG(sb.st_mode)))
    return RTK_ERR(RTK_ERR_INPUT, "'%s' appeared while the study started; it is left alone", o->path);
  if (rename(o->tmppath, o->path) != 0)
    return RTK_ERR(RTK_ERR_IO, "cannot rename '%s' to '%s': %s", o->tmppath, o->path, strerror(errno));
  o->pending = 0;
  return RTK_OK;
}

int rtk_out_acquire(rtk_outfile *o, const char *path, int force, int resume) {
  memset(o, 0, sizeof *o);
  o->lockfd = -1;
  RTK_CHECK(rtk_out_check_path(path));
  snprintf(o->path, sizeof o->path, "%s", path);
  snprintf(o->lockpath, sizeof o->lockpath, "%s.lock", path);
  snprintf(o->tmppath, sizeof o->tmppath, "%s.tmp", path);
  RTK_CHECK(create_parent(path));
  RTK_CHECK(take_lock(o));
  /* from here on no other rtkbench process writes this path */
  struct stat sb;
  int rc = RTK_OK;
  if (lstat(path, &sb) != 0) {
    if (errno != ENOENT) rc = RTK_ERR(RTK_ERR_INPUT, "cannot examine '%s': %s", path, strerror(errno));
    else rc = create_new(o);
  } else if (!S_ISREG(sb.st_mode)) {
    rc = RTK_ERR(RTK_ERR_INPUT, "output '%s' exists and is not a regular file (%s); it is left alone", path,
                 S_ISDIR(sb.st_mode) ? "a directory" : S_ISLNK(sb.st_mode) ? "a symbolic link" : "a device, FIFO or socket");
  } else if (resume) {
    o->exists = 1;
    if (access(path, R_OK | W_OK) != 0) rc = RTK_ERR(RTK_ERR_INPUT, "cannot resume '%s': not writable", path);
    else rc = rtk_out_recover(path);
  } else if (!force) {
    rc = RTK_ERR(RTK_ERR_INPUT, "output file '%s' exists (use --force to overwrite it)", path);
  } else { /* --force: a new file replaces the old one once its header is on disk */
    o->replace = 1;
    rc = create_new(o);
  }
  if (rc) rtk_out_release(o);
  return rc;
}

const char *rtk_out_name(const rtk_outfile *o) { return o->pending ? o->tmppath : o->path; }

void rtk_out_remove_created(rtk_outfile *o) {
  struct stat sb;
  if (!o->created) return;
  /* only the regular file this invocation created, if it is still there */
  const char *name = rtk_out_name(o);
  if (lstat(name, &sb) == 0 && S_ISREG(sb.st_mode) && sb.st_dev == o->dev && sb.st_ino == o->ino) {
    char jp[RTK_OUT_PATH_MAX + 16];
    rtk_journal_path(o->path, jp, sizeof jp);
    if (lstat(jp, &sb) == 0 && S_ISREG(sb.st_mode)) unlink(jp); /* its journal (journal.h) */
    unlink(name);
  }
  o->created = 0;
}

int rtk_out_recover(const char *path) {
  int restored = -1;
  RTK_CHECK(rtk_journal_recover(path, &restored));
  if (restored >= 0)
    fprintf(stderr,
            "rtkbench: note: '%s' was left in the middle of a write by a job that was killed; its last committed "
            "state (every run completed before the kill) was restored from '%s.journal' (%d saved region%s)\n",
            path, path, restored, restored == 1 ? "" : "s");
  return RTK_OK;
}

void rtk_out_release(rtk_outfile *o) {
  if (o->lockfd < 0) return;
  unlink(o->lockpath); /* while still holding the lock (see take_lock) */
  close(o->lockfd);
  o->lockfd = -1;
}

/* Readers (rtkbench info): a shared fcntl lock on PATH.lock, so a file is
 * never read while a writer holds the exclusive lock; the same protocol as
 * take_lock (the lock file must still be the one at that name).  A hot
 * journal (a writer killed mid-commit) is rolled back first, under a brief
 * exclusive lock, as SQLite's readers do with a hot journal. */
int rtk_out_read_lock(const char *path, int *lockfd) {
  char lp[4200];
  snprintf(lp, sizeof lp, "%s.lock", path);
  /* no lock file can be made here (so no writer uses one), or no lock support: read without */
  if (lock_file(lp, F_RDLCK, 1, lockfd) == EAGAIN)
    return RTK_ERR(RTK_ERR_INPUT,
                   "'%s' is being written by another rtkbench process (it holds the lock '%s'); its runs are "
                   "committed one by one at run boundaries: run info again when that job has finished",
                   path, lp);
  if (!rtk_journal_hot(path)) return RTK_OK;
  int rc;
  struct flock fl;
  memset(&fl, 0, sizeof fl);
  fl.l_type = F_WRLCK;
  fl.l_whence = SEEK_SET;
  if (*lockfd >= 0 && fcntl(*lockfd, F_SETLK, &fl) == 0) {
    rc = rtk_out_recover(path);
    fl.l_type = F_RDLCK;
    if (fcntl(*lockfd, F_SETLK, &fl) != 0 && !rc) rc = RTK_ERR(RTK_ERR_IO, "cannot lock '%s': %s", lp, strerror(errno));
  } else {
    rc = RTK_ERR(RTK_ERR_INPUT,
                 "'%s' was left in the middle of a write by a job that was killed, and cannot be restored now "
                 "(another process reads it, or '%s' cannot be locked); `rtkbench run ... --resume` restores it",
                 path, lp);
  }
  if (rc) rtk_out_read_unlock(path, *lockfd), *lockfd = -1;
  return rc;
}

void rtk_out_read_unlock(const char *path, int lockfd) {
  if (lockfd < 0) return;
  char lp[4200];
  snprintf(lp, sizeof lp, "%s.lock", path);
  struct flock fl;
  memset(&fl, 0, sizeof fl);
  fl.l_type = F_WRLCK;
  fl.l_whence = SEEK_SET;
  /* the last user removes the lock file (still holding the lock, as rtk_out_release does) */
  struct stat a, b;
  if (fcntl(lockfd, F_SETLK, &fl) == 0 && fstat(lockfd, &a) == 0 && stat(lp, &b) == 0 && a.st_dev == b.st_dev &&
      a.st_ino == b.st_ino)
    unlink(lp);
  close(lockfd);
}
