/* LD_PRELOAD write-fault shim for the fault-injection tests.
 *
 * On the MPI rank RTK_FAULT_RANK (OMPI_COMM_WORLD_RANK / PMI_RANK, default 0),
 * writes to files whose path contains RTK_FAULT_PATH succeed for the first
 * RTK_FAULT_BYTES bytes; every later write (write, pwrite, pwrite64, writev,
 * pwritev, pwritev64) fails with RTK_FAULT_ERRNO (ENOSPC, or EIO), and a write
 * straddling the limit is cut short, as on a full disk.  When the fault
 * first fires, a line is appended to RTK_FAULT_LOG (if set).  Other files
 * (stdout, stderr, the lock file) are never touched.
 *
 * Kill mode (crash consistency): with RTK_FAULT_KILL_AT=N instead of
 * RTK_FAULT_BYTES, the chosen rank raises SIGKILL at its N-th call (from 1)
 * that modifies or syncs a matching file (the writes above, ftruncate,
 * fsync, fdatasync), before the call is made.  RTK_FAULT_TRACE=FILE appends
 * one line per such call ("index call path offset bytes"), so a test can
 * choose N inside a flush.  Both count the same calls.
 *
 * RTK_FAULT_SNAPSHOT=FILE (MPI rank 0, independent of RTK_FAULT_RANK): at
 * every commit of the results file's rollback journal (the journal emptied,
 * ftruncate(journal, 0)) copy the results file (the journal's path without
 * ".journal") to FILE, through FILE.tmp and a rename: the state a rollback
 * after a later kill must restore byte for byte. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <unistd.h>

static int inited, active, err_no = ENOSPC, fired;
static long long limit = -1, written, kill_at = -1, calls;
static int tracing;
static const char *pattern;
static char fdmatch[4096]; /* 0 unknown, 1 match, 2 no match (per fd < 4096) */

static void init(void) {
  if (inited) return;
  inited = 1;
  pattern = getenv("RTK_FAULT_PATH");
  const char *b = getenv("RTK_FAULT_BYTES"), *r = getenv("RTK_FAULT_RANK"), *e = getenv("RTK_FAULT_ERRNO");
  const char *me = getenv("OMPI_COMM_WORLD_RANK");
  if (!me) me = getenv("PMI_RANK");
  if (!me) me = "0";
  const char *k = getenv("RTK_FAULT_KILL_AT");
  if (!pattern || (!b && !k && !getenv("RTK_FAULT_TRACE"))) return;
  if (atoi(r ? r : "0") != atoi(me)) return;
  limit = b ? atoll(b) : -1;
  kill_at = k ? atoll(k) : -1;
  tracing = getenv("RTK_FAULT_TRACE") != NULL;
  if (e && !strcmp(e, "EIO")) err_no = EIO;
  active = 1;
}

static int matches(int fd) {
  if (fd < 0) return 0;
  if (fd < (int)sizeof fdmatch && fdmatch[fd]) return fdmatch[fd] == 1;
  char link[64], path[4096];
  snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
  ssize_t n = readlink(link, path, sizeof path - 1);
  int m = 0;
  if (n > 0) {
    path[n] = '\0';
    m = strstr(path, pattern) != NULL && strstr(path, ".lock") == NULL;
  }
  /* fds are reused: only cache non-matches of the standard streams */
  if (fd < 3 && fd < (int)sizeof fdmatch) fdmatch[fd] = m ? 1 : 2;
  return m;
}

typedef ssize_t (*write_fn)(int, const void *, size_t);
typedef ssize_t (*pwrite_fn)(int, const void *, size_t, off_t);
typedef ssize_t (*writev_fn)(int, const struct iovec *, int);
typedef ssize_t (*pwritev_fn)(int, const struct iovec *, int, off_t);
static void note_fired(void) {
  if (fired) return;
  fired = 1;
  const char *log = getenv("RTK_FAULT_LOG");
  if (!log) return;
  int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644);
  if (fd < 0) return;
  char line[128];
  int n = snprintf(line, sizeof line, "fault fired after %lld bytes (pid %d)\n", written, (int)getpid());
  write_fn real_write = (write_fn)dlsym(RTLD_NEXT, "write");
  if (real_write(fd, line, (size_t)n) < 0) { /* best effort */
  }
  close(fd);
}

/* kill mode and trace: one more modifying call on a matching file */
static void count_call(int fd, const char *call, long long off, size_t n) {
  calls++;
  if (tracing) {
    char link[64], path[4096] = "?", line[4300];
    snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
    ssize_t m = readlink(link, path, sizeof path - 1);
    if (m > 0) path[m] = '\0';
    int len = snprintf(line, sizeof line, "%lld %s %s %lld %zu\n", calls, call, path, off, n);
    int t = open(getenv("RTK_FAULT_TRACE"), O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (t >= 0) {
      write_fn real_write = (write_fn)dlsym(RTLD_NEXT, "write");
      if (real_write(t, line, (size_t)len) < 0) { /* best effort */
      }
      close(t);
    }
  }
  if (calls == kill_at) raise(SIGKILL);
}

/* how many of `want` bytes may be written now; -1: fail */
static ssize_t allowance_at(int fd, size_t want, const char *call, long long off) {
  init();
  if (!active || !matches(fd)) return (ssize_t)want;
  count_call(fd, call, off, want);
  if (limit < 0) return (ssize_t)want;
  if (written >= limit) {
    note_fired();
    errno = err_no;
    return -1;
  }
  long long left = limit - written;
  if ((long long)want > left) note_fired(); /* cut short: the disk is full from here on */
  return (ssize_t)((long long)want < left ? (long long)want : left);
}

#define allowance(fd, want) allowance_at(fd, want, __func__, (long long)off_of)

#define REAL(name, type)        \
  static type real_##name;      \
  if (!real_##name) real_##name = (type)dlsym(RTLD_NEXT, #name)

ssize_t write(int fd, const void *buf, size_t n) {
  REAL(write, write_fn);
  const long long off_of = -1;
  ssize_t k = allowance(fd, n);
  if (k < 0) return -1;
  ssize_t r = real_write(fd, buf, (size_t)k);
  if (r > 0 && active) written += r;
  return r;
}

ssize_t pwrite(int fd, const void *buf, size_t n, off_t off) {
  REAL(pwrite, pwrite_fn);
  const long long off_of = off;
  ssize_t k = allowance(fd, n);
  if (k < 0) return -1;
  ssize_t r = real_pwrite(fd, buf, (size_t)k, off);
  if (r > 0 && active) written += r;
  return r;
}

ssize_t pwrite64(int fd, const void *buf, size_t n, off_t off) {
  REAL(pwrite64, pwrite_fn);
  const long long off_of = off;
  ssize_t k = allowance(fd, n);
  if (k < 0) return -1;
  ssize_t r = real_pwrite64(fd, buf, (size_t)k, off);
  if (r > 0 && active) written += r;
  return r;
}

static size_t iov_total(const struct iovec *iov, int cnt) {
  size_t t = 0;
  for (int i = 0; i < cnt; i++) t += iov[i].iov_len;
  return t;
}

/* vectored writes: all or nothing at the limit (keeps the shim simple) */
ssize_t writev(int fd, const struct iovec *iov, int cnt) {
  REAL(writev, writev_fn);
  const long long off_of = -1;
  size_t t = iov_total(iov, cnt);
  ssize_t k = allowance(fd, t);
  if (k < 0) return -1;
  if ((size_t)k < t) {
    note_fired();
    written = limit;
    errno = err_no;
    return -1;
  }
  ssize_t r = real_writev(fd, iov, cnt);
  if (r > 0 && active) written += r;
  return r;
}

ssize_t pwritev(int fd, const struct iovec *iov, int cnt, off_t off) {
  REAL(pwritev, pwritev_fn);
  const long long off_of = off;
  size_t t = iov_total(iov, cnt);
  ssize_t k = allowance(fd, t);
  if (k < 0) return -1;
  if ((size_t)k < t) {
    note_fired();
    written = limit;
    errno = err_no;
    return -1;
  }
  ssize_t r = real_pwritev(fd, iov, cnt, off);
  if (r > 0 && active) written += r;
  return r;
}

ssize_t pwritev64(int fd, const struct iovec *iov, int cnt, off_t off) {
  REAL(pwritev64, pwritev_fn);
  const long long off_of = off;
  size_t t = iov_total(iov, cnt);
  ssize_t k = allowance(fd, t);
  if (k < 0) return -1;
  if ((size_t)k < t) {
    note_fired();
    written = limit;
    errno = err_no;
    return -1;
  }
  ssize_t r = real_pwritev64(fd, iov, cnt, off);
  if (r > 0 && active) written += r;
  return r;
}

/* calls that change a file's length or make it durable: counted (kill mode,
 * trace), never failed */
typedef int (*sync_fn)(int);
typedef int (*trunc_fn)(int, off_t);
static void count_other(int fd, const char *call, long long arg) {
  init();
  if (active && matches(fd)) count_call(fd, call, arg, 0);
}

int fsync(int fd) {
  REAL(fsync, sync_fn);
  count_other(fd, "fsync", -1);
  return real_fsync(fd);
}

int fdatasync(int fd) {
  REAL(fdatasync, sync_fn);
  count_other(fd, "fdatasync", -1);
  return real_fdatasync(fd);
}

static void snapshot(int fd, off_t len) {
  const char *dst = getenv("RTK_FAULT_SNAPSHOT"), *rank = getenv("OMPI_COMM_WORLD_RANK");
  if (!dst || len != 0 || (rank && atoi(rank) != 0)) return;
  char link[64], path[4096], tmp[4200];
  snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
  const ssize_t m = readlink(link, path, sizeof path - 1), sfx = (ssize_t)(sizeof ".journal" - 1);
  if (m <= sfx) return;
  path[m] = '\0';
  if (strcmp(path + (m - sfx), ".journal") != 0) return;
  path[m - sfx] = '\0';
  snprintf(tmp, sizeof tmp, "%s.tmp", dst);
  write_fn real_write = (write_fn)dlsym(RTLD_NEXT, "write");
  int in = open(path, O_RDONLY), out = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  char buf[65536];
  ssize_t k;
  int ok = in >= 0 && out >= 0;
  while (ok && (k = read(in, buf, sizeof buf)) > 0) ok = real_write(out, buf, (size_t)k) == k;
  if (in >= 0) close(in);
  if (out >= 0) close(out);
  if (ok) rename(tmp, dst);
}

int ftruncate(int fd, off_t len) {
  REAL(ftruncate, trunc_fn);
  count_other(fd, "ftruncate", (long long)len);
  snapshot(fd, len);
  return real_ftruncate(fd, len);
}

int ftruncate64(int fd, off_t len) {
  REAL(ftruncate64, trunc_fn);
  count_other(fd, "ftruncate64", (long long)len);
  snapshot(fd, len);
  return real_ftruncate64(fd, len);
}
