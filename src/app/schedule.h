/* run.schedule = dynamic: the ranks of a node share out the blocks of their
 * canonical (static) ranges at run time, so a slower core computes fewer
 * blocks (docs/design.md "Block scheduling").
 *
 * Every rank owns a counter in a node-shared segment (MPI_Win_allocate_shared
 * over MPI_Comm_split_type(MPI_COMM_TYPE_SHARED)), starting at the first block
 * of its canonical range.  A rank takes its own blocks with a C11 atomic
 * fetch_add on its counter (no MPI call, no progress engine); when its range
 * is used up it takes the next block of the rank with the most blocks left.
 * Own blocks are written into the rank's rows X as with run.schedule =
 * static; other ranks' blocks (and their boundary rows) go to a growable
 * staging buffer, and rtk_sched_finish sends them to their canonical owners
 * (MPI_Alltoallv inside the node).  After that every rank holds exactly the
 * rows of the static schedule, so the results are the same bits.  A shared
 * stop flag makes every rank of the node stop taking blocks as soon as one
 * fails or is interrupted. */
#ifndef RTK_APP_SCHEDULE_H
#define RTK_APP_SCHEDULE_H
#include <mpi.h>
#include <stdint.h>

typedef struct rtk_sched {
  int on; /* 0: static (rtk_sched_next is not used) */
  MPI_Comm node;
  MPI_Win win;
  int me, nsize;
  unsigned char *base;     /* the shared slots: nsize counters, then done and stop */
  int64_t *r0, *r1;        /* [nsize] canonical block ranges of the node's ranks */
  int64_t total;           /* blocks of the node */
  int64_t N, B, b0, p0, nloc;
  int d, nbnd;             /* nbnd: boundary rows per particle (S + 1 with output.boundaries, else 0) */
  double *X, *bnd;         /* this rank's canonical rows and boundary rows [nbnd][nloc][d] */
  int64_t nst, cap;        /* staged (other ranks') blocks */
  int64_t *st_block;
  int *st_owner;
  size_t *st_off;          /* offset of each staged block in stage: [1 + nbnd][n][d] */
  double *stage;
  size_t stage_len, stage_cap;
  int64_t own, other;      /* blocks computed: of this rank's range, of others' */
  int64_t staged;          /* rows of others' blocks (at most half of nloc, at least one block) */
  int err;                 /* staging out of memory */
} rtk_sched;

/* Collective over comm.  dynamic = 0 or a node of one rank: s->on = 0.
 * Otherwise sets up the node's shared counters; where that is not possible
 * (no lock-free 64-bit atomics, the window cannot be made, or the exchange
 * would overflow MPI's int counts) it prints a one-line note and stays
 * static.  nbnd: boundary rows per particle to move with each block. */
void rtk_sched_init(rtk_sched *s, MPI_Comm comm, int dynamic, int64_t N, int64_t B, int64_t b0, int64_t b1,
                    int d, int nbnd, double *X, double *bnd);
/* The next block: 1 with its index *b, its rows *Xb and where its boundary
 * rows go (row j of boundary k of particle gid at bcur[(k * stride + gid - base) * d]);
 * 0 when the node has none left or a rank has stopped. */
int rtk_sched_next(rtk_sched *s, int64_t *b, double **Xb, double **bcur, int64_t *stride, int64_t *base);
/* after each block: the node's blocks done so far (progress) */
int64_t rtk_sched_block_done(rtk_sched *s);
/* Collective over the node: rc is this rank's result of the block loop.  If
 * every rank of the node succeeded, the staged blocks go to their owners and
 * *abandon = 0; else nothing is exchanged, *abandon = 1 and this rank's own
 * error (or RTK_OK) is returned, so that the caller's collective reports the
 * failing rank's error. */
int rtk_sched_finish(rtk_sched *s, int rc, int *abandon);
void rtk_sched_free(rtk_sched *s); /* collective over the node when on */

#endif
