/* The results file's rollback journal (src/app/journal.c; docs/format.md,
 * "Crash consistency") on a file opened with MPI_File_open, 1 or more ranks.
 *
 *   test_journal rollback DIR   commit a pattern, commit a second state
 *     (overwrites, a truncation, an extension), then overwrite the same bytes
 *     several times with different content in between (restore order
 *     matters), from rank 0 and from the last rank, collectively,
 *     independently and through a strided file view, truncate below the
 *     committed length, write past it and extend; "crash" (no commit: the
 *     journal is abandoned and the file closed, as an error path or a kill
 *     leaves them), roll back and require the second committed state byte
 *     for byte and its length.  Also: an independent write below the
 *     committed length from a rank other than 0 is refused and writes
 *     nothing; a torn record at the journal's end is ignored; recovery
 *     repeated after a crash before the journal's removal gives the same
 *     file; a journal of another file (other inode) is removed unused.
 *     And a rollback after a commit ignores the records from before it.
 *   test_journal finish DIR     commits and a clean finish: no journal left.
 *
 * Every rank keeps a model of the file (its bytes as the writes leave them,
 * holes read as zeros) and of its committed state; rank 0 compares the real
 * file with them through POSIX reads. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <mpi.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "journal.h"
#include "rtk/error.h"
#include "testutil.h" /* CHECK (counts tu_failures) */

static int rank = 0, nranks = 1;
/* an MPI or rtk call that must succeed: otherwise the rest means nothing */
#define MUST(call)                                                                          \
  do {                                                                                      \
    if ((call) != 0) {                                                                      \
      fprintf(stderr, "FAIL rank %d %s:%d: %s failed: %s\n", rank, __FILE__, __LINE__, #call, \
              rtk_error_message());                                                         \
      MPI_Abort(MPI_COMM_WORLD, 1);                                                         \
    }                                                                                       \
  } while (0)

/* the byte at file offset i written by generation g (distinct generations
 * differ in most bytes) */
static unsigned char pat(uint64_t i, unsigned g) {
  uint64_t x = i + 0x9E3779B97F4A7C15ULL * (g + 1);
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
  return (unsigned char)((x ^ (x >> 31)) >> 56);
}

/* the model of a file: its bytes */
typedef struct {
  unsigned char *b;
  size_t n, cap;
} image;

static void img_size(image *m, size_t n) {
  if (n > m->cap) {
    m->cap = n + n / 2 + 64;
    m->b = realloc(m->b, m->cap);
    if (!m->b) MPI_Abort(MPI_COMM_WORLD, 1);
  }
  if (n > m->n) memset(m->b + m->n, 0, n - m->n);
  m->n = n;
}
static void img_byte(image *m, size_t off, unsigned g) {
  if (off + 1 > m->n) img_size(m, off + 1);
  m->b[off] = pat(off, g);
}
static void img_copy(image *dst, const image *src) {
  img_size(dst, src->n);
  memcpy(dst->b, src->b, src->n);
}

static unsigned char *fill(size_t off, size_t len, unsigned g) {
  unsigned char *b = malloc(len ? len : 1);
  if (!b) MPI_Abort(MPI_COMM_WORLD, 1);
  for (size_t k = 0; k < len; k++) b[k] = pat(off + k, g);
  return b;
}

/* a collective write: rank r writes gen g over [off[r], off[r] + len[r]) */
static void write_all(MPI_File fh, image *m, const size_t *off, const size_t *len, unsigned g) {
  unsigned char *b = fill(off[rank], len[rank], g);
  MUST(MPI_File_write_at_all(fh, (MPI_Offset)off[rank], b, (int)len[rank], MPI_BYTE, MPI_STATUS_IGNORE));
  free(b);
  for (int r = 0; r < nranks; r++)
    for (size_t k = 0; k < len[r]; k++) img_byte(m, off[r] + k, g);
}

/* an independent write by rank r (the others only update their model) */
static void write_one(MPI_File fh, image *m, int r, size_t off, size_t len, unsigned g) {
  if (rank == r) {
    unsigned char *b = fill(off, len, g);
    MUST(MPI_File_write_at(fh, (MPI_Offset)off, b, (int)len, MPI_BYTE, MPI_STATUS_IGNORE));
    free(b);
  }
  for (size_t k = 0; k < len; k++) img_byte(m, off + k, g);
}

/* the last rank writes `tiles` tiles of a strided view at disp: blocks of
 * BL bytes every ST bytes, NB blocks a tile (the others write nothing, collectively) */
enum { BL = 64, ST = 256, NB = 3 };
static void write_view(MPI_File fh, image *m, size_t disp, int tiles, unsigned g) {
  MPI_Datatype ft;
  MPI_Type_vector(NB, BL, ST, MPI_BYTE, &ft);
  MPI_Type_commit(&ft);
  MPI_Aint lb, ext;
  MPI_Type_get_extent(ft, &lb, &ext);
  MUST(MPI_File_set_view(fh, (MPI_Offset)disp, MPI_BYTE, ft, "native", MPI_INFO_NULL));
  const size_t n = (size_t)tiles * NB * BL;
  unsigned char *b = malloc(n);
  if (!b) MPI_Abort(MPI_COMM_WORLD, 1);
  size_t *where = malloc(sizeof(size_t) * n);
  if (!where) MPI_Abort(MPI_COMM_WORLD, 1);
  for (size_t j = 0; j < n; j++) {
    const size_t t = j / (NB * BL), k = j % (NB * BL);
    where[j] = disp + t * (size_t)ext + (k / BL) * ST + k % BL;
    b[j] = pat(where[j], g);
  }
  const int me = rank == nranks - 1;
  MUST(MPI_File_write_at_all(fh, 0, b, me ? (int)n : 0, MPI_BYTE, MPI_STATUS_IGNORE));
  MUST(MPI_File_set_view(fh, 0, MPI_BYTE, MPI_BYTE, "native", MPI_INFO_NULL));
  for (size_t j = 0; j < n; j++) img_byte(m, where[j], g);
  free(where);
  free(b);
  MPI_Type_free(&ft);
}

static void set_size(MPI_File fh, image *m, size_t n) {
  MUST(MPI_File_set_size(fh, (MPI_Offset)n));
  img_size(m, n);
}

/* rank 0: the file's bytes and length against a model; 0 when equal (what:
 * names the comparison in the message of a difference; NULL: quiet) */
static int differs(const char *path, const image *m, const char *what) {
  const char *w = what ? what : "compare";
  int fd = open(path, O_RDONLY);
  struct stat sb;
  if (fd < 0 || fstat(fd, &sb) != 0) {
    fprintf(stderr, "%s: cannot read %s: %s\n", w, path, strerror(errno));
    if (fd >= 0) close(fd);
    return 1;
  }
  int bad = (size_t)sb.st_size != m->n;
  if (bad && what) fprintf(stderr, "%s: %s has %lld bytes, expected %zu\n", what, path, (long long)sb.st_size, m->n);
  unsigned char *b = malloc((size_t)sb.st_size + 1);
  ssize_t got = b ? pread(fd, b, (size_t)sb.st_size, 0) : -1;
  if (got != (ssize_t)sb.st_size) {
    fprintf(stderr, "%s: short read of %s\n", w, path);
    bad = 1;
  } else {
    const size_t n = (size_t)sb.st_size < m->n ? (size_t)sb.st_size : m->n;
    size_t first = n, count = 0;
    for (size_t i = 0; i < n; i++)
      if (b[i] != m->b[i]) {
        if (first == n) first = i;
        count++;
      }
    if (count) {
      if (what) fprintf(stderr, "%s: %zu bytes of %s differ, the first at offset %zu\n", what, count, path, first);
      bad = 1;
    }
  }
  free(b);
  close(fd);
  return bad;
}

static int exists(const char *p) { return access(p, F_OK) == 0; }

static void copy_file(const char *from, const char *to) {
  FILE *a = fopen(from, "rb"), *b = fopen(to, "wb");
  if (!a || !b) MPI_Abort(MPI_COMM_WORLD, 1);
  char buf[65536];
  size_t k;
  while ((k = fread(buf, 1, sizeof buf, a)) > 0)
    if (fwrite(buf, 1, k, b) != k) MPI_Abort(MPI_COMM_WORLD, 1);
  fclose(a);
  if (fclose(b)) MPI_Abort(MPI_COMM_WORLD, 1);
}

/* a fresh, empty file under journal (its committed length 0) */
static MPI_File open_fresh(const char *path) {
  char jp[1100];
  rtk_journal_path(path, jp, sizeof jp);
  if (rank == 0) {
    unlink(path);
    unlink(jp);
  }
  MPI_Barrier(MPI_COMM_WORLD);
  MPI_File fh;
  MUST(MPI_File_open(MPI_COMM_WORLD, path, MPI_MODE_CREATE | MPI_MODE_RDWR, MPI_INFO_NULL, &fh));
  MUST(rtk_journal_start_fh(MPI_COMM_WORLD, fh, path));
  return fh;
}

/* the first committed state: a pattern of L bytes, a slice per rank */
static void first_state(MPI_File fh, image *cur, size_t L) {
  size_t off[64], len[64];
  for (int r = 0; r < nranks; r++) {
    off[r] = L * (size_t)r / (size_t)nranks;
    len[r] = L * (size_t)(r + 1) / (size_t)nranks - off[r];
  }
  write_all(fh, cur, off, len, 1);
  MUST(rtk_journal_commit());
}

/* the rollback scenario's changes up to the crash: two commits, then the
 * uncommitted overwrites; cur: the file as they leave it, committed: its
 * second committed state */
static void scenario(const char *path, image *cur, image *committed) {
  const int last = nranks - 1;
  size_t off[64] = {0}, len[64] = {0};

  MPI_File fh = open_fresh(path);
  first_state(fh, cur, 50000);

  /* second committed state: the file's start rewritten, a slice from the
   * last rank, cut to 40000 and written on to 45000 */
  write_one(fh, cur, 0, 0, 100, 2);
  off[last] = 12000, len[last] = 3000;
  write_all(fh, cur, off, len, 2);
  set_size(fh, cur, 40000);
  write_one(fh, cur, 0, 39000, 6000, 2);
  MUST(rtk_journal_commit());
  img_copy(committed, cur);
  const size_t L = committed->n; /* 45000 */

  /* uncommitted changes, then the crash */
  memset(off, 0, sizeof off);
  memset(len, 0, sizeof len);
  off[0] = 1000, len[0] = 4000; /* A over [1000, 5000) */
  write_all(fh, cur, off, len, 3);
  off[0] = 3000, len[0] = 6000; /* B over [3000, 9000): [3000, 5000) saved again, now holding A */
  if (nranks > 1) off[last] = 20000, len[last] = 6000; /* and the last rank's C over [20000, 26000) */
  write_all(fh, cur, off, len, 4);
  write_one(fh, cur, 0, 8000, 100, 5); /* [8000, 8100) a third time, independently */
  write_one(fh, cur, last, L + 500, 100, 6); /* past the committed length: any rank may */
  if (nranks > 1) { /* below it, independently, from a rank other than 0: refused, nothing written */
    int rc = MPI_SUCCESS;
    if (rank == last) {
      unsigned char *b = fill(100, 50, 7);
      rc = MPI_File_write_at(fh, 100, b, 50, MPI_BYTE, MPI_STATUS_IGNORE);
      free(b);
      CHECK(rc != MPI_SUCCESS, "an independent write below the committed length on rank %d was let through", rank);
    }
  }
  write_view(fh, cur, 30000, 2, 8); /* strided tiles over [30000, 31152) */
  set_size(fh, cur, L / 2); /* truncation below the committed length */
  write_one(fh, cur, 0, L / 2 - 500, 25000, 9); /* over the cut and past L */
  set_size(fh, cur, L + 20000); /* extension */
  /* the crash: no commit; the journal is left as an error path or a kill leaves it */
  rtk_journal_abandon();
  MUST(MPI_File_close(&fh));
}

static void test_rollback(const char *dir) {
  char path[1024], jp[1100], bak[1200], other[1100], ojp[1200];
  snprintf(path, sizeof path, "%s/rollback_%d.bin", dir, nranks);
  rtk_journal_path(path, jp, sizeof jp);
  snprintf(bak, sizeof bak, "%s.bak", jp);
  snprintf(other, sizeof other, "%s.other", path);
  rtk_journal_path(other, ojp, sizeof ojp);
  image cur = {0}, committed = {0};
  scenario(path, &cur, &committed);
  if (rank == 0) {
    CHECK(!differs(path, &cur, "before the rollback"), "the writes did not all reach the file");
    CHECK(differs(path, &committed, NULL), "the test changed nothing");
    CHECK(rtk_journal_hot(path), "no hot journal after the crash");
    /* a torn record at the end: its length and bytes written, its hash not
     * (zeros), then a shorter stub; recovery stops at them */
    copy_file(jp, bak);
    FILE *f = fopen(jp, "ab");
    uint64_t rec[3] = {0, 64, 0};
    unsigned char junk[64];
    memset(junk, 0xA5, sizeof junk);
    CHECK(f && fwrite(rec, sizeof rec, 1, f) == 1 && fwrite(junk, sizeof junk, 1, f) == 1 &&
              fwrite(rec, 8, 1, f) == 1 && fclose(f) == 0,
          "cannot append to %s", jp);
    int restored = -2;
    MUST(rtk_journal_recover(path, &restored));
    CHECK(restored > 0, "recovery restored %d regions", restored);
    CHECK(!differs(path, &committed, "after the rollback"), "the rollback did not restore the committed state");
    CHECK(!exists(jp), "the journal is still there after the recovery");
    CHECK(!rtk_journal_hot(path), "a hot journal after the recovery");
    /* killed after the restore, before the journal's removal: again */
    copy_file(bak, jp);
    int again = -2;
    MUST(rtk_journal_recover(path, &again));
    CHECK(again == restored, "the repeated recovery restored %d regions, the first %d", again, restored);
    CHECK(!differs(path, &committed, "after a repeated rollback"), "a repeated recovery changed the file");
    /* the journal of this file next to a copy (another inode): not applied, removed */
    copy_file(path, other);
    copy_file(bak, ojp);
    CHECK(!rtk_journal_hot(other), "a journal of another file is taken as hot");
    int none = -2;
    MUST(rtk_journal_recover(other, &none));
    CHECK(none == -1 && !exists(ojp), "a journal of another file: restored %d, %s", none,
          exists(ojp) ? "still there" : "removed");
    CHECK(!differs(other, &committed, "the copy"), "a journal of another file was applied");
    unlink(bak);
    unlink(other);
  }
  free(cur.b);
  free(committed.b);
}

/* a commit empties the journal: records of the overwrites before it are never
 * applied, even where a newer record of the same size ends exactly where an
 * older one did (HDF5 rewrites the same metadata blocks at every flush) */
static void test_recommit(const char *dir) {
  char path[1024];
  snprintf(path, sizeof path, "%s/recommit_%d.bin", dir, nranks);
  image cur = {0}, committed = {0};
  MPI_File fh = open_fresh(path);
  first_state(fh, &cur, 50000);
  write_one(fh, &cur, 0, 0, 100, 2);
  write_one(fh, &cur, 0, 20000, 1000, 2);
  MUST(rtk_journal_commit());
  img_copy(&committed, &cur);
  write_one(fh, &cur, 0, 0, 100, 3); /* a record as long as the first one before the commit */
  rtk_journal_abandon();
  MUST(MPI_File_close(&fh));
  if (rank == 0) {
    int restored = -2;
    MUST(rtk_journal_recover(path, &restored));
    CHECK(!differs(path, &committed, "after a rollback past a commit"),
          "the rollback applied records from before the last commit (restored %d regions)", restored);
  }
  free(cur.b);
  free(committed.b);
}

static void test_finish(const char *dir) {
  char path[1024], jp[1100];
  snprintf(path, sizeof path, "%s/finish_%d.bin", dir, nranks);
  rtk_journal_path(path, jp, sizeof jp);
  image cur = {0};
  MPI_File fh = open_fresh(path);
  if (rank == 0) CHECK(exists(jp), "no journal after the start");
  first_state(fh, &cur, 30000);
  write_one(fh, &cur, 0, 10, 1000, 2);
  set_size(fh, &cur, 20000);
  MUST(rtk_journal_commit());
  write_one(fh, &cur, nranks - 1, 20000, 1000, 3);
  MUST(rtk_journal_commit());
  MUST(MPI_File_close(&fh));
  MPI_Barrier(MPI_COMM_WORLD);
  rtk_journal_finish();
  if (rank == 0) {
    CHECK(!exists(jp), "the journal is still there after a clean finish");
    CHECK(!differs(path, &cur, "after the finish"), "the file is not what was written");
    int restored = -2;
    MUST(rtk_journal_recover(path, &restored));
    CHECK(restored == -1, "recovery after a clean finish restored %d regions", restored);
  }
  free(cur.b);
}

/* after a kill (tests/test_journal_kill.sh; no MPI): recover FILE and compare
 * it with SNAPSHOT, the copy of its last commit (none: the empty file) */
static int recover_check(const char *path, const char *snap) {
  image want = {0};
  FILE *f = fopen(snap, "rb");
  if (f) {
    int c;
    while ((c = fgetc(f)) != EOF) {
      img_size(&want, want.n + 1);
      want.b[want.n - 1] = (unsigned char)c;
    }
    fclose(f);
  }
  int restored = -2;
  MUST(rtk_journal_recover(path, &restored));
  char jp[1100];
  rtk_journal_path(path, jp, sizeof jp);
  CHECK(!differs(path, &want, "after the kill and the rollback"), "not the last committed state (%s)",
        f ? snap : "the empty file");
  CHECK(!exists(jp), "the journal is still there after the recovery");
  printf("restored %d regions\n", restored);
  free(want.b);
  return tu_failures ? 1 : 0;
}

int main(int argc, char **argv) {
  if (argc == 4 && !strcmp(argv[1], "recover")) return recover_check(argv[2], argv[3]);
  setenv("OMPI_MCA_io", "^ompio", 0); /* as rtkbench does (src/app/main.c), unless the test chooses */
  MPI_Init(&argc, &argv);
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &nranks);
  const char *name = argc > 2 ? argv[1] : "";
  if (nranks > 64) MPI_Abort(MPI_COMM_WORLD, 2);
  if (!strcmp(name, "ops")) { /* the scenario alone, to be killed inside (tests/test_journal_kill.sh) */
    image cur = {0}, committed = {0};
    scenario(argv[2], &cur, &committed);
    free(cur.b);
    free(committed.b);
    MPI_Finalize();
    return 0;
  }
  if (argc > 2 && rank == 0 && mkdir(argv[2], 0755) != 0 && errno != EEXIST) {
    fprintf(stderr, "cannot create %s: %s\n", argv[2], strerror(errno));
    MPI_Abort(MPI_COMM_WORLD, 2);
  }
  MPI_Barrier(MPI_COMM_WORLD);
  if (!strcmp(name, "rollback")) {
    test_rollback(argv[2]);
    test_recommit(argv[2]);
  } else if (!strcmp(name, "finish")) {
    test_finish(argv[2]);
  } else {
    if (rank == 0) fprintf(stderr, "usage: test_journal rollback|finish DIR | ops FILE | recover FILE SNAPSHOT\n");
    MPI_Finalize();
    return 2;
  }
  int all = 0;
  MPI_Allreduce(&tu_failures, &all, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
  if (rank == 0) printf("journal %s on %d rank%s: %s (%d failed checks)\n", name, nranks, nranks > 1 ? "s" : "",
                        all ? "FAILED" : "ok", all);
  MPI_Finalize();
  return all ? 1 : 0;
}
