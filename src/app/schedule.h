/* run.schedule = dynamic: the ranks of a node share out the particles of
 * their canonical (static) ranges at run time, so a slower core computes
 * fewer of them (docs/design.md "Block scheduling").
 *
 * Every rank owns a counter in a node-shared segment (MPI_Win_allocate_shared
 * over MPI_Comm_split_type(MPI_COMM_TYPE_SHARED)), starting at the first
 * particle of its canonical range.  A rank takes its next piece of its own
 * range with a C11 atomic fetch_add on its counter (no MPI call, no progress
 * engine); when its range is used up it takes the next piece of the rank with
 * the most particles left.  A piece is a block of B particles while the node
 * has much left; towards the end the pieces shrink (guided self-scheduling:
 * about the node's rows left / (2 ranks), in multiples of the unit u, a
 * divisor of B down to B/8), so that the ranks finish close together.  Own
 * pieces are written into the rank's rows X as with run.schedule = static;
 * other ranks' pieces (and their boundary rows) go to a growable staging
 * buffer, and rtk_sched_finish sends them to their canonical owners
 * (MPI_Alltoallv inside the node).  After that every rank holds exactly the
 * rows of the static schedule, so the results are the same bits.  A shared
 * stop flag makes every rank of the node stop taking pieces as soon as one
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
  unsigned char *base;     /* the shared slots: nsize counters (particle ids), then rows done and stop */
  int64_t *r0, *r1;        /* [nsize] canonical particle ranges [r0, r1) of the node's ranks */
  int64_t total;           /* blocks of the node (progress) */
  int64_t B, u, p0, nloc; /* u: the unit of a piece (divides B; a multiple of the sampler's alignment) */
  int d, nbnd;             /* nbnd: boundary rows per particle (S + 1 with output.boundaries, else 0) */
  double *X, *bnd;         /* this rank's canonical rows and boundary rows [nbnd][nloc][d] */
  int64_t nst, cap;        /* staged pieces (of other ranks' ranges) */
  int64_t *st_gid;         /* [2 cap]: first particle and rows of each staged piece */
  int *st_owner;
  size_t *st_off;          /* offset of each staged piece in stage: [1 + nbnd][n][d] */
  double *stage;
  size_t stage_len, stage_cap;
  int64_t own, other;      /* particles computed: of this rank's range, of others' */
  int64_t staged;          /* rows of others' pieces (at most half of nloc, at least one block) */
  int64_t pieces;          /* pieces computed */
  int last;                /* rows of the piece rtk_sched_next handed out last */
  int err;                 /* staging out of memory */
} rtk_sched;

/* Collective over comm.  dynamic = 0 or a node of one rank: s->on = 0.
 * Otherwise sets up the node's shared counters; where that is not possible
 * (no lock-free 64-bit atomics, the window cannot be made, or the exchange
 * would overflow MPI's int counts) it prints a one-line note and stays
 * static.  Blocks b0 .. b1 - 1 of B particles are this rank's range; align:
 * a piece's rows must be a multiple of it (smc's groups; it divides B).
 * nbnd: boundary rows per particle to move with each piece. */
void rtk_sched_init(rtk_sched *s, MPI_Comm comm, int dynamic, int64_t N, int64_t B, int64_t align, int64_t b0,
                    int64_t b1, int d, int nbnd, double *X, double *bnd);
/* The next piece: 1 with its first particle *gid0, its rows *n, where its
 * particles go (*Xb) and where its boundary rows go (row j of boundary k of
 * particle gid at bcur[(k * stride + gid - base) * d]); 0 when the node has
 * none left or a rank has stopped. */
int rtk_sched_next(rtk_sched *s, int64_t *gid0, int *n, double **Xb, double **bcur, int64_t *stride, int64_t *base);
/* after each piece: the node's particles done so far (progress) */
int64_t rtk_sched_block_done(rtk_sched *s);
/* Collective over the node: rc is this rank's result of the block loop.  If
 * every rank of the node succeeded, the staged pieces go to their owners and
 * *abandon = 0; else nothing is exchanged, *abandon = 1 and this rank's own
 * error (or RTK_OK) is returned, so that the caller's collective reports the
 * failing rank's error. */
int rtk_sched_finish(rtk_sched *s, int rc, int *abandon);
void rtk_sched_free(rtk_sched *s); /* collective over the node when on */

#endif
