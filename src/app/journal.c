/* Rollback journal of the results file (see journal.h and docs/format.md,
 * "Crash consistency").  The idea is a rollback journal as in SQLite's
 * atomic commit (https://www.sqlite.org/atomiccommit.html): save what is
 * about to be overwritten, sync, overwrite; a crash is undone by writing the
 * saved bytes back.  Written from that description for HDF5 over MPI-IO.
 *
 * Journal layout (host byte order; fixed 64-bit fields):
 *   header  "RTKJRNL1", base, dev, ino, seq, hash(previous 40 bytes)
 *   record  off, len, hash(off, len, bytes), bytes[len]      (repeated)
 * base is the committed length of the file identified by dev/ino.  A header
 * that is short or fails its hash means no overwrite has happened since the
 * last commit (the header is synced before the first record); a record that
 * is short or fails its hash was being appended when the process died, so
 * the overwrite it protects had not started. */
#define _GNU_SOURCE
#include "journal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "rtk/error.h"
#include "study.h"
#include "testhook.h"

#define MAGIC "RTKJRNL1"
#define HDR_BYTES 48
#define REC_BYTES 24
#define CHUNK ((size_t)16 << 20)

static struct {
  int on, rank, sync; /* sync: fdatasync the journal (RTK_JOURNAL_SYNC=0 turns it off, for tests) */
  MPI_Comm comm;     /* a duplicate of the file's communicator */
  MPI_File fh;       /* the results file's MPI-IO handle */
  int fd, jfd;       /* rank 0: the results file (read, sync) and the journal */
  uint64_t base;     /* committed length (every rank knows it) */
  uint64_t dev, ino, seq, jend;
  char jpath[1100];
} J = {0, 0, 1, MPI_COMM_NULL, MPI_FILE_NULL, -1, -1, 0, 0, 0, 0, 0, ""};

static uint64_t fnv(uint64_t h, const void *p, size_t n) {
  const unsigned char *c = p;
  for (size_t i = 0; i < n; i++) h = (h ^ c[i]) * 0x100000001b3ULL;
  return h;
}
#define FNV0 0xcbf29ce484222325ULL

void rtk_journal_path(const char *path, char *buf, size_t len) { snprintf(buf, len, "%s.journal", path); }

static int full_write(int fd, const void *p, size_t n, uint64_t off) {
  const char *c = p;
  while (n) {
    ssize_t k = pwrite(fd, c, n, (off_t)off);
    if (k < 0 && errno == EINTR) continue;
    if (k <= 0) return -1;
    c += k;
    n -= (size_t)k;
    off += (uint64_t)k;
  }
  return 0;
}

static ssize_t full_read(int fd, void *p, size_t n, uint64_t off) {
  char *c = p;
  size_t got = 0;
  while (got < n) {
    ssize_t k = pread(fd, c + got, n - got, (off_t)(off + got));
    if (k < 0 && errno == EINTR) continue;
    if (k < 0) return -1;
    if (k == 0) break;
    got += (size_t)k;
  }
  return (ssize_t)got;
}

/* rank 0: an empty journal with a header for the committed length J.base */
static int write_header(void) {
  unsigned char h[HDR_BYTES];
  uint64_t v[5] = {J.base, J.dev, J.ino, J.seq, 0};
  memcpy(h, MAGIC, 8);
  memcpy(h + 8, v, 32);
  v[4] = fnv(FNV0, h, 40);
  memcpy(h + 40, &v[4], 8);
  /* emptying the journal is the commit point; then the new header (a torn
   * or lost header means "nothing to roll back", as an empty journal does) */
  if (ftruncate(J.jfd, 0) != 0 || full_write(J.jfd, h, sizeof h, 0) != 0 || (J.sync && fdatasync(J.jfd) != 0))
    return -1;
  J.jend = HDR_BYTES;
  return 0;
}

/* rank 0: save the committed bytes [lo, hi) before they are overwritten */
static int save(uint64_t lo, uint64_t hi) {
  if (hi > J.base) hi = J.base;
  if (lo >= hi) return 0;
  unsigned char *buf = malloc(hi - lo < CHUNK ? hi - lo : CHUNK);
  if (!buf) return -1;
  int rc = 0;
  for (uint64_t o = lo; o < hi && !rc; o += CHUNK) {
    const size_t want = hi - o < CHUNK ? (size_t)(hi - o) : CHUNK;
    const ssize_t got = full_read(J.fd, buf, want, o);
    if (got < 0) {
      rc = -1;
      break;
    }
    if (got == 0) break; /* beyond the end: truncated earlier, saved then */
    uint64_t rec[3] = {o, (uint64_t)got, 0};
    rec[2] = fnv(fnv(FNV0, rec, 16), buf, (size_t)got);
    if (full_write(J.jfd, rec, REC_BYTES, J.jend) != 0 || full_write(J.jfd, buf, (size_t)got, J.jend + REC_BYTES) != 0)
      rc = -1;
    J.jend += REC_BYTES + (uint64_t)got;
  }
  free(buf);
  /* the saved bytes are on disk before the overwrite starts */
  if (!rc && J.sync && fdatasync(J.jfd) != 0) rc = -1;
  return rc;
}

/* the bytes [lo, hi) of the file that a write of count x type at offset off
 * (in etypes of the current view) can touch: exact for a contiguous view,
 * the whole span of the file type's tiles otherwise */
static void span(MPI_File fh, MPI_Offset off, int count, MPI_Datatype type, uint64_t *lo, uint64_t *hi) {
  int tsz = 0;
  MPI_Type_size(type, &tsz);
  const uint64_t n = (uint64_t)tsz * (uint64_t)(count > 0 ? count : 0);
  *lo = *hi = UINT64_MAX;
  if (!n) return;
  MPI_Offset disp = 0;
  MPI_Datatype et, ft;
  char rep[MPI_MAX_DATAREP_STRING];
  if (PMPI_File_get_view(fh, &disp, &et, &ft, rep) != MPI_SUCCESS) {
    *lo = 0; /* unknown: everything */
    return;
  }
  int esz = 1, fsz = 1;
  MPI_Count tlb = 0, text = 1;
  MPI_Aint lb = 0, ext = 1;
  MPI_Type_size(et, &esz);
  MPI_Type_size(ft, &fsz);
  MPI_Type_get_true_extent_x(ft, &tlb, &text);
  MPI_Type_get_extent(ft, &lb, &ext);
  const uint64_t first = (uint64_t)off * (uint64_t)esz, last = first + n - 1;
  const uint64_t t0 = fsz > 0 ? first / (uint64_t)fsz : 0, t1 = fsz > 0 ? last / (uint64_t)fsz : 0;
  *lo = (uint64_t)disp + t0 * (uint64_t)ext + (uint64_t)tlb;
  *hi = (uint64_t)disp + t1 * (uint64_t)ext + (uint64_t)tlb + (uint64_t)text;
  int ni, na, nd, comb;
  MPI_Type_get_envelope(et, &ni, &na, &nd, &comb);
  if (comb != MPI_COMBINER_NAMED) MPI_Type_free(&et);
  MPI_Type_get_envelope(ft, &ni, &na, &nd, &comb);
  if (comb != MPI_COMBINER_NAMED) MPI_Type_free(&ft);
}

/* a write that cannot be journaled fails as an I/O error (the file's error
 * handler sees it, as it would a failed write) and writes nothing */
static int refuse(MPI_File fh, const char *why) {
  fprintf(stderr, "rtkbench: journal of the results file: %s (%s)\n", why, strerror(errno));
  MPI_File_call_errhandler(fh, MPI_ERR_IO);
  return MPI_ERR_IO;
}

/* A failed write is passed to the file's error handler (which starts the
 * I/O-error watchdog, io_hdf5.c) whether or not the MPI-IO layer did:
 * OMPIO returns some errors without calling it. */
static int reported(MPI_File fh, int rc, int count, MPI_Datatype type, MPI_Status *st) {
  /* a short write (fewer bytes than asked, e.g. a full disk) is an error even
   * where the MPI-IO layer reports success (OMPIO was seen to) */
  int got = 0, tsz = 0;
  if (rc == MPI_SUCCESS && st != MPI_STATUS_IGNORE && MPI_Get_count(st, MPI_BYTE, &got) == MPI_SUCCESS &&
      got != MPI_UNDEFINED && MPI_Type_size(type, &tsz) == MPI_SUCCESS && (long long)got < (long long)tsz * count)
    rc = MPI_ERR_IO;
  if (rc != MPI_SUCCESS) MPI_File_call_errhandler(fh, rc);
  return rc;
}

int MPI_File_write_at(MPI_File fh, MPI_Offset off, const void *buf, int count, MPI_Datatype type, MPI_Status *st) {
  if (J.on && fh == J.fh) {
    uint64_t lo, hi;
    span(fh, off, count, type, &lo, &hi);
    if (lo < J.base) {
      if (J.rank != 0) { /* only rank 0 writes metadata; nothing else rewrites committed bytes */
        errno = EPERM;
        return refuse(fh, "an independent write below the committed length on a rank other than 0");
      }
      if (save(lo, hi)) return refuse(fh, "cannot save the bytes about to be overwritten");
    }
  }
  return reported(fh, PMPI_File_write_at(fh, off, buf, count, type, st), count, type, st);
}

int MPI_File_write_at_all(MPI_File fh, MPI_Offset off, const void *buf, int count, MPI_Datatype type,
                          MPI_Status *st) {
  if (J.on && fh == J.fh) {
    uint64_t r[2];
    span(fh, off, count, type, &r[0], &r[1]);
    int size, ok = 1;
    MPI_Comm_size(J.comm, &size);
    uint64_t *all = J.rank == 0 ? malloc(sizeof(uint64_t) * 2 * (size_t)size) : NULL;
    if (J.rank == 0 && !all) ok = 0;
    /* every rank's span to rank 0, which saves what lies below the
     * committed length before anyone writes */
    MPI_Gather(r, 2, MPI_UINT64_T, all, 2, MPI_UINT64_T, 0, J.comm);
    for (int i = 0; J.rank == 0 && ok && i < size; i++)
      if (all[2 * i] < J.base && save(all[2 * i], all[2 * i + 1])) ok = 0;
    free(all);
    MPI_Bcast(&ok, 1, MPI_INT, 0, J.comm);
    if (!ok) return refuse(fh, "cannot save the bytes about to be overwritten");
  }
  return reported(fh, PMPI_File_write_at_all(fh, off, buf, count, type, st), count, type, st);
}

int MPI_File_set_size(MPI_File fh, MPI_Offset size) {
  if (J.on && fh == J.fh) {
    int ok = 1;
    if (J.rank == 0 && (uint64_t)size < J.base && save((uint64_t)size, J.base)) ok = 0;
    MPI_Bcast(&ok, 1, MPI_INT, 0, J.comm);
    if (!ok) return refuse(fh, "cannot save the bytes about to be truncated");
  }
  return reported(fh, PMPI_File_set_size(fh, size), 0, MPI_BYTE, MPI_STATUS_IGNORE);
}

/* rank 0: the committed length is the file's length now, on disk */
static int mark_committed(void) {
  struct stat sb;
  if (fsync(J.fd) != 0 || fstat(J.fd, &sb) != 0) return -1;
  J.base = (uint64_t)sb.st_size;
  J.seq++;
  return write_header();
}

static void close_fds(void) {
  if (J.fd >= 0) close(J.fd);
  if (J.jfd >= 0) close(J.jfd);
  J.fd = J.jfd = -1;
  J.on = 0;
}

/* rc: an error found by the caller on this rank (agreed here with the others) */
static int start(MPI_Comm comm, MPI_File fh, int rc, const char *path) {
  memset(&J, 0, sizeof J);
  J.fd = J.jfd = -1;
  J.comm = MPI_COMM_NULL;
  MPI_Comm_rank(comm, &J.rank);
  /* without the syncs a killed process still leaves a usable journal (the
   * kernel keeps what was written); only a node crash needs them */
  const char *sy = getenv("RTK_JOURNAL_SYNC");
  J.sync = !(sy && !strcmp(sy, "0"));
  rtk_journal_path(path, J.jpath, sizeof J.jpath);
  if (!rc && J.rank == 0) {
    struct stat sb;
    J.fd = open(path, O_RDONLY | O_CLOEXEC);
    J.jfd = open(J.jpath, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
    if (J.fd < 0 || J.jfd < 0 || fstat(J.fd, &sb) != 0) {
      rc = RTK_ERR(RTK_ERR_IO, "cannot create the journal '%s': %s", J.jpath, strerror(errno));
    } else {
      J.dev = (uint64_t)sb.st_dev;
      J.ino = (uint64_t)sb.st_ino;
      if (mark_committed()) rc = RTK_ERR(RTK_ERR_IO, "cannot write the journal '%s': %s", J.jpath, strerror(errno));
    }
  }
  rc = rtk_collective(comm, rc);
  if (rc) {
    close_fds();
    return rc;
  }
  MPI_Bcast(&J.base, 1, MPI_UINT64_T, 0, comm); /* every rank needs the committed length */
  J.fh = fh;
  MPI_Comm_dup(comm, &J.comm);
  J.on = 1;
  return RTK_OK;
}

int rtk_journal_start(MPI_Comm comm, hid_t file, const char *path) {
  if (rtk_test_fail("journal")) return RTK_OK; /* the control case of tests/fault/test_torn_flush.sh */
  void *handle = NULL;
  hid_t fapl = H5Fget_access_plist(file);
  int rc = fapl >= 0 && H5Fget_vfd_handle(file, fapl, &handle) >= 0 && handle ? RTK_OK
           : RTK_ERR(RTK_ERR_IO, "HDF5: no MPI-IO handle for '%s'", path);
  if (fapl >= 0) H5Pclose(fapl);
  return start(comm, rc ? MPI_FILE_NULL : *(MPI_File *)handle, rc, path);
}

int rtk_journal_start_fh(MPI_Comm comm, MPI_File fh, const char *path) { return start(comm, fh, RTK_OK, path); }

int rtk_journal_commit(void) {
  if (!J.on) return RTK_OK;
  /* every rank's writes of the committed state have returned before rank 0 takes the file's length (a
   * collective write does not synchronise: without this, rank 0 could record a length that misses another
   * rank's part, as journal.rollback_ompio showed under load) */
  MPI_Barrier(J.comm);
  int rc = J.rank == 0 && mark_committed()
               ? RTK_ERR(RTK_ERR_IO, "cannot commit the journal '%s': %s", J.jpath, strerror(errno))
               : RTK_OK;
  MPI_Bcast(&J.base, 1, MPI_UINT64_T, 0, J.comm);
  return rc;
}

void rtk_journal_finish(void) {
  if (!J.on) return;
  if (J.rank == 0 && fsync(J.fd) == 0) unlink(J.jpath); /* the closed file is the committed state */
  close_fds();
  MPI_Comm_free(&J.comm);
}

void rtk_journal_abandon(void) {
  if (!J.on) return;
  close_fds(); /* the journal stays for --resume; the communicator is left (the process exits) */
}

/* read and check the header; 0: valid */
static int read_header(int jfd, uint64_t v[5]) {
  unsigned char h[HDR_BYTES];
  if (full_read(jfd, h, sizeof h, 0) != (ssize_t)sizeof h || memcmp(h, MAGIC, 8)) return -1;
  memcpy(v, h + 8, 40);
  return v[4] == fnv(FNV0, h, 40) ? 0 : -1;
}

/* a journal for this very file (same device and inode) */
static int open_for(const char *path, int *jfd, int *fd, uint64_t v[5]) {
  char jp[1100];
  rtk_journal_path(path, jp, sizeof jp);
  *fd = -1;
  *jfd = open(jp, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (*jfd < 0) return 0;
  struct stat sb;
  if (read_header(*jfd, v) == 0 && stat(path, &sb) == 0 && S_ISREG(sb.st_mode) && (uint64_t)sb.st_dev == v[1] &&
      (uint64_t)sb.st_ino == v[2])
    return 1;
  close(*jfd);
  *jfd = -1;
  return 0;
}

int rtk_journal_hot(const char *path) {
  int jfd, fd;
  uint64_t v[5];
  if (!open_for(path, &jfd, &fd, v)) return 0;
  close(jfd);
  return 1;
}

int rtk_journal_recover(const char *path, int *restored) {
  char jp[1100];
  rtk_journal_path(path, jp, sizeof jp);
  *restored = -1;
  int jfd, fd;
  uint64_t v[5];
  if (!open_for(path, &jfd, &fd, v)) {
    struct stat sb;
    /* no journal, one left with no record of an overwrite, or one of another file */
    if (lstat(jp, &sb) == 0 && S_ISREG(sb.st_mode)) unlink(jp);
    return RTK_OK;
  }
  fd = open(path, O_RDWR | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) {
    close(jfd);
    return RTK_ERR(RTK_ERR_INPUT,
                   "'%s' was left in the middle of a write by a job that was killed, and cannot be restored: %s",
                   path, strerror(errno));
  }
  /* the complete records, in order */
  size_t n = 0, cap = 0;
  uint64_t *rec = NULL, pos = HDR_BYTES;
  unsigned char *buf = malloc(CHUNK);
  int rc = buf ? RTK_OK : RTK_ERR(RTK_ERR_MEM, "out of memory");
  for (; !rc;) {
    uint64_t r[3];
    if (full_read(jfd, r, REC_BYTES, pos) != REC_BYTES || r[1] == 0 || r[1] > CHUNK) break;
    if (full_read(jfd, buf, (size_t)r[1], pos + REC_BYTES) != (ssize_t)r[1]) break;
    if (fnv(fnv(FNV0, r, 16), buf, (size_t)r[1]) != r[2]) break;
    if (n == cap) {
      cap = cap ? 2 * cap : 64;
      uint64_t *t = realloc(rec, sizeof(uint64_t) * 2 * cap);
      if (!t) {
        rc = RTK_ERR(RTK_ERR_MEM, "out of memory");
        break;
      }
      rec = t;
    }
    rec[2 * n] = pos;
    rec[2 * n + 1] = r[1];
    n++;
    pos += REC_BYTES + r[1];
  }
  /* newest first, so a region saved twice ends with its committed bytes */
  for (size_t i = n; i-- > 0 && !rc;) {
    uint64_t r[3];
    if (full_read(jfd, r, REC_BYTES, rec[2 * i]) != REC_BYTES ||
        full_read(jfd, buf, (size_t)r[1], rec[2 * i] + REC_BYTES) != (ssize_t)r[1] ||
        full_write(fd, buf, (size_t)r[1], r[0]) != 0)
      rc = RTK_ERR(RTK_ERR_IO, "cannot restore '%s' from its journal: %s", path, strerror(errno));
  }
  if (!rc && (ftruncate(fd, (off_t)v[0]) != 0 || fsync(fd) != 0))
    rc = RTK_ERR(RTK_ERR_IO, "cannot restore '%s' from its journal: %s", path, strerror(errno));
  free(rec);
  free(buf);
  close(fd);
  close(jfd);
  if (!rc) {
    unlink(jp); /* only once the file is restored: a crash before this repeats the (idempotent) recovery */
    *restored = (int)n;
  }
  return rc;
}
