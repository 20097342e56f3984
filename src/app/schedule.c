#include "schedule.h"

#include <limits.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rtk/error.h"

#define SLOT 64 /* one cache line per counter: no false sharing between the ranks' counters */

static _Atomic int64_t *slot(const rtk_sched *s, int i) { return (_Atomic int64_t *)(void *)(s->base + (size_t)i * SLOT); }
static _Atomic int64_t *done_ctr(const rtk_sched *s) { return slot(s, s->nsize); }
static _Atomic int64_t *stop_flag(const rtk_sched *s) { return slot(s, s->nsize + 1); }

static void note(const char *why) {
  static int said = 0; /* once per process, not once per run */
  if (said) return;
  said = 1;
  fprintf(stderr, "rtkbench: note: run.schedule = dynamic is not available here (%s): the static schedule is used\n", why);
}

/* pieces: at least RTK_SCHED_MIN_ROWS rows and B / RTK_SCHED_SPLIT of a block (unless the block itself is smaller) */
#define RTK_SCHED_MIN_ROWS 16
#define RTK_SCHED_SPLIT 8

void rtk_sched_init(rtk_sched *s, MPI_Comm comm, int dynamic, int64_t N, int64_t B, int64_t align, int64_t b0,
                    int64_t b1, int d, int nbnd, double *X, double *bnd) {
  memset(s, 0, sizeof *s);
  s->node = MPI_COMM_NULL;
  s->win = MPI_WIN_NULL;
  if (!dynamic) return;
  int rank;
  MPI_Comm_rank(comm, &rank);
  MPI_Comm_split_type(comm, MPI_COMM_TYPE_SHARED, rank, MPI_INFO_NULL, &s->node);
  MPI_Comm_rank(s->node, &s->me);
  MPI_Comm_size(s->node, &s->nsize);
  if (s->nsize == 1) { /* nothing to share out */
    MPI_Comm_free(&s->node);
    return;
  }
  s->B = B;
  /* the unit of a piece: B halved while it stays a multiple of align, at least RTK_SCHED_MIN_ROWS rows and
   * B / RTK_SCHED_SPLIT; every range starts at a block, so every piece starts at a multiple of the unit */
  s->u = B;
  while (s->u % 2 == 0 && (s->u / 2) % (align > 0 ? align : 1) == 0 && s->u / 2 >= RTK_SCHED_MIN_ROWS &&
         B / (s->u / 2) <= RTK_SCHED_SPLIT)
    s->u /= 2;
  s->p0 = b0 * B;
  const int64_t p1 = b1 * B < N ? b1 * B : N;
  s->nloc = p1 > s->p0 ? p1 - s->p0 : 0;
  s->d = d;
  s->nbnd = nbnd;
  s->X = X;
  s->bnd = bnd;
  int64_t mine[2] = {b0, b1}, *all = malloc(sizeof(int64_t) * 2 * (size_t)s->nsize);
  s->r0 = malloc(sizeof(int64_t) * (size_t)s->nsize);
  s->r1 = malloc(sizeof(int64_t) * (size_t)s->nsize);
  const char *why = NULL;
  int ok = all && s->r0 && s->r1, allok = 0;
  MPI_Allreduce(&ok, &allok, 1, MPI_INT, MPI_MIN, s->node);
  if (!allok) {
    if (s->me == 0) note("out of memory");
    free(all);
    free(s->r0);
    free(s->r1);
    s->r0 = s->r1 = NULL;
    MPI_Comm_free(&s->node);
    return;
  }
  MPI_Allgather(mine, 2, MPI_INT64_T, all, 2, MPI_INT64_T, s->node);
  for (int i = 0; i < s->nsize; i++) { /* blocks to particle ids */
    s->total += all[2 * i + 1] - all[2 * i];
    s->r0[i] = all[2 * i] * B;
    s->r1[i] = all[2 * i + 1] * B < N ? all[2 * i + 1] * B : N;
    if (s->r1[i] < s->r0[i]) s->r1[i] = s->r0[i];
  }
  free(all);
  _Atomic int64_t probe = 0;
  if (!why && !atomic_is_lock_free(&probe)) why = "no lock-free 64-bit atomics";
  /* the exchange counts a block's rows of d doubles (with its boundary rows) in MPI ints */
  if (!why && (double)B * (1 + nbnd) > INT_MAX) why = "too many boundary rows per block";
  void *mem = NULL;
  if (!why) {
    MPI_Comm_set_errhandler(s->node, MPI_ERRORS_RETURN);
    const MPI_Aint bytes = s->me == 0 ? (MPI_Aint)SLOT * (s->nsize + 3) : 0;
    if (MPI_Win_allocate_shared(bytes, 1, MPI_INFO_NULL, s->node, &mem, &s->win) != MPI_SUCCESS) {
      s->win = MPI_WIN_NULL;
      why = "MPI_Win_allocate_shared failed";
    }
    MPI_Comm_set_errhandler(s->node, MPI_ERRORS_ARE_FATAL); /* the exchange's collectives as everywhere else */
  }
  ok = !why;
  MPI_Allreduce(&ok, &allok, 1, MPI_INT, MPI_MIN, s->node);
  if (allok && MPI_Win_shared_query(s->win, 0, &(MPI_Aint){0}, &(int){0}, &mem) != MPI_SUCCESS) ok = 0;
  if (allok) MPI_Allreduce(&ok, &allok, 1, MPI_INT, MPI_MIN, s->node);
  if (!allok) {
    if (s->me == 0) note(why ? why : "another rank of the node could not set it up");
    if (ok && s->win != MPI_WIN_NULL) MPI_Win_free(&s->win); /* every rank made it: collective */
    MPI_Comm_free(&s->node);
    free(s->r0);
    free(s->r1);
    s->r0 = s->r1 = NULL;
    return;
  }
  s->base = (unsigned char *)(((uintptr_t)mem + SLOT - 1) / SLOT * SLOT);
  MPI_Win_lock_all(MPI_MODE_NOCHECK, s->win);
  atomic_store(slot(s, s->me), s->p0);
  if (s->me == 0) {
    atomic_store(done_ctr(s), 0);
    atomic_store(stop_flag(s), 0);
  }
  MPI_Win_sync(s->win);
  MPI_Barrier(s->node);
  MPI_Win_sync(s->win);
  s->on = 1;
  return;
}

/* a place in the staging buffer for the n rows from particle gid0 of node rank owner */
static double *stage_piece(rtk_sched *s, int64_t gid0, int n, int owner) {
  const size_t need = (size_t)n * s->d * (1 + (size_t)s->nbnd);
  if (s->nst == s->cap) {
    const int64_t cap = s->cap ? 2 * s->cap : 16;
    int64_t *ng = realloc(s->st_gid, sizeof(int64_t) * 2 * (size_t)cap);
    if (ng) s->st_gid = ng;
    int *no = realloc(s->st_owner, sizeof(int) * (size_t)cap);
    if (no) s->st_owner = no;
    size_t *nf = realloc(s->st_off, sizeof(size_t) * (size_t)cap);
    if (nf) s->st_off = nf;
    if (!ng || !no || !nf) return NULL;
    s->cap = cap;
  }
  if (s->stage_len + need > s->stage_cap) {
    const size_t cap = 2 * s->stage_cap + need;
    double *ns = realloc(s->stage, sizeof(double) * cap);
    if (!ns) return NULL;
    s->stage = ns;
    s->stage_cap = cap;
  }
  s->st_gid[2 * s->nst] = gid0;
  s->st_gid[2 * s->nst + 1] = n;
  s->st_owner[s->nst] = owner;
  s->st_off[s->nst] = s->stage_len;
  s->nst++;
  s->stage_len += need;
  return s->stage + s->st_off[s->nst - 1];
}

/* the rows of the next piece: a block while the node has at least 2 ranks x a block left each, then about the
 * rows left / (2 ranks) (guided self-scheduling), a multiple of the unit, at least one unit */
static int64_t piece_rows(const rtk_sched *s) {
  int64_t left = 0;
  for (int i = 0; i < s->nsize; i++) {
    const int64_t l = s->r1[i] - atomic_load(slot(s, i));
    if (l > 0) left += l;
  }
  int64_t n = (left + 2 * (int64_t)s->nsize - 1) / (2 * (int64_t)s->nsize);
  n = (n + s->u - 1) / s->u * s->u;
  return n < s->u ? s->u : n > s->B ? s->B : n;
}

int rtk_sched_next(rtk_sched *s, int64_t *gid0, int *n, double **Xb, double **bcur, int64_t *stride, int64_t *base) {
  if (s->err || atomic_load(stop_flag(s))) return 0;
  const int64_t want = piece_rows(s);
  int64_t t = atomic_fetch_add(slot(s, s->me), want);
  const int64_t cap = s->nloc / 2 > s->B ? s->nloc / 2 : s->B; /* rows of others' pieces: at most half its own */
  if (t < s->r1[s->me]) { /* own piece: into X, as the static schedule */
    *gid0 = t;
    *n = s->last = (int)(s->r1[s->me] - t < want ? s->r1[s->me] - t : want);
    *Xb = s->X + (size_t)(t - s->p0) * s->d;
    *bcur = s->bnd;
    *stride = s->nloc;
    *base = s->p0;
    s->own += *n;
    s->pieces++;
    return 1;
  }
  int v;
  for (;;) { /* the next piece of the rank with the most left */
    v = -1;
    int64_t most = 0;
    for (int i = 0; i < s->nsize; i++) {
      const int64_t left = s->r1[i] - atomic_load(slot(s, i));
      if (i != s->me && left > most) {
        most = left;
        v = i;
      }
    }
    if (v < 0 || s->staged + want > cap) return 0;
    t = atomic_fetch_add(slot(s, v), want);
    if (t < s->r1[v]) break;
  }
  /* the piece is claimed: we must compute it, or stop the node */
  const int rows = (int)(s->r1[v] - t < want ? s->r1[v] - t : want);
  double *p = stage_piece(s, t, rows, v);
  if (!p) {
    s->err = RTK_ERR(RTK_ERR_MEM, "out of memory staging particles %lld.. (run.schedule = dynamic)", (long long)t);
    atomic_store(stop_flag(s), 1);
    return 0;
  }
  s->staged += rows;
  *gid0 = t;
  *n = s->last = rows;
  *Xb = p;
  *bcur = s->nbnd ? p + (size_t)rows * s->d : NULL;
  *stride = rows;
  *base = t;
  s->other += rows;
  s->pieces++;
  return 1;
}

int64_t rtk_sched_block_done(rtk_sched *s) { return atomic_fetch_add(done_ctr(s), s->last) + s->last; }

/* agree over the node that every rank has its buffers (after an allocation) */
static int node_ok(const rtk_sched *s, int ok) {
  int all = 0;
  MPI_Allreduce(&ok, &all, 1, MPI_INT, MPI_MIN, s->node);
  return all;
}

int rtk_sched_finish(rtk_sched *s, int rc, int *abandon) {
  *abandon = 0;
  if (!s->on) return rc;
  if (rc || s->err) atomic_store(stop_flag(s), 1); /* the others stop taking pieces */
  if (!node_ok(s, !rc && !s->err)) {
    *abandon = 1;
    return rc ? rc : s->err;
  }
  /* which pieces come from whom: counts, then each piece's first particle and rows (two int64 per piece, in the
   * order each sender computed them) */
  const int P = s->nsize;
  int *cnt = calloc(4 * (size_t)P, sizeof(int));
  int64_t *sid = malloc(sizeof(int64_t) * 2 * (size_t)(s->nst + 1)), *rid = NULL;
  MPI_Request *req = NULL;
  int ok = cnt && sid, out = RTK_OK;
  int *scnt = cnt, *rcnt = cnt + P, *sdsp = cnt + 2 * P, *rdsp = cnt + 3 * P, nrecv = 0;
  if (ok) {
    for (int64_t j = 0; j < s->nst; j++) scnt[s->st_owner[j]] += 2;
    for (int i = 1; i < P; i++) sdsp[i] = sdsp[i - 1] + scnt[i - 1];
    int *fill = calloc((size_t)P, sizeof(int));
    ok = fill != NULL;
    for (int64_t j = 0; ok && j < s->nst; j++) {
      int64_t *to = sid + sdsp[s->st_owner[j]] + fill[s->st_owner[j]];
      to[0] = s->st_gid[2 * j];
      to[1] = s->st_gid[2 * j + 1];
      fill[s->st_owner[j]] += 2;
    }
    free(fill);
  }
  if (!node_ok(s, ok)) goto oom;
  MPI_Alltoall(scnt, 1, MPI_INT, rcnt, 1, MPI_INT, s->node);
  for (int i = 0; i < P; i++) {
    rdsp[i] = nrecv;
    nrecv += rcnt[i];
  }
  rid = malloc(sizeof(int64_t) * ((size_t)nrecv + 1));
  req = malloc(sizeof(MPI_Request) * (2 * ((size_t)nrecv / 2 + (size_t)s->nst) + 1)); /* two messages a piece */
  ok = rid && req;
  if (!node_ok(s, ok)) goto oom;
  MPI_Alltoallv(sid, scnt, sdsp, MPI_INT64_T, rid, rcnt, rdsp, MPI_INT64_T, s->node);
  /* every particle of this rank's range exactly once: its own pieces and the ones received, each inside the range
   * (the pieces are disjoint: each was claimed by one fetch_add), so the rows add up to the range (checked before
   * any message is posted, so that a failure cannot leave a send without its receive) */
  int64_t got = 0;
  int valid = 1;
  for (int j = 0; j + 1 < nrecv && valid; j += 2) {
    valid = rid[j] >= s->r0[s->me] && rid[j + 1] > 0 && rid[j] + rid[j + 1] <= s->r1[s->me];
    got += rid[j + 1];
  }
  valid = valid && s->own + got == s->r1[s->me] - s->r0[s->me];
  if (!valid)
    out = RTK_ERR(RTK_ERR_RUNTIME, "dynamic schedule: this rank computed %lld of its %lld particles and received %lld, "
                  "not the rest of its range", (long long)s->own, (long long)(s->r1[s->me] - s->r0[s->me]), (long long)got);
  if (!node_ok(s, valid)) {
    *abandon = 1;
    goto done;
  }
  /* then each piece straight from the staging buffer into its owner's rows: X, and the boundary rows
   * [nbnd][nloc][d] as a strided type (no packing on either side).  Messages between two ranks with the
   * same tag arrive in the order sent, which is the order of the pieces' list. */
  int nreq = 0;
  MPI_Datatype row;
  MPI_Type_contiguous(s->d, MPI_DOUBLE, &row);
  MPI_Type_commit(&row);
  for (int i = 0; i < P; i++)
    for (int j = rdsp[i]; j + 1 < rdsp[i] + rcnt[i]; j += 2) {
      const int n = (int)rid[j + 1];
      const size_t off = (size_t)(rid[j] - s->p0);
      MPI_Irecv(s->X + off * s->d, n, row, i, 0, s->node, &req[nreq++]);
      if (s->nbnd) {
        MPI_Datatype strided;
        MPI_Type_create_hvector(s->nbnd, n, (MPI_Aint)(sizeof(double) * (size_t)s->nloc * s->d), row, &strided);
        MPI_Type_commit(&strided);
        MPI_Irecv(s->bnd + off * s->d, 1, strided, i, 1, s->node, &req[nreq++]);
        MPI_Type_free(&strided); /* freed when the receive completes */
      }
    }
  for (int i = 0; i < P; i++) /* sends in the order of sid: owner by owner, each in computed order */
    for (int64_t j = 0; j < s->nst; j++) {
      if (s->st_owner[j] != i) continue;
      const int n = (int)s->st_gid[2 * j + 1];
      const double *p = s->stage + s->st_off[j];
      MPI_Isend(p, n, row, i, 0, s->node, &req[nreq++]);
      if (s->nbnd) MPI_Isend(p + (size_t)n * s->d, n * s->nbnd, row, i, 1, s->node, &req[nreq++]);
    }
  MPI_Waitall(nreq, req, MPI_STATUSES_IGNORE);
  MPI_Type_free(&row);
  goto done;
oom:
  *abandon = 1;
  out = ok ? RTK_OK : RTK_ERR(RTK_ERR_MEM, "out of memory exchanging blocks (run.schedule = dynamic)");
done:
  free(cnt);
  free(sid);
  free(rid);
  free(req);
  return out;
}

void rtk_sched_free(rtk_sched *s) {
  if (s->on) {
    MPI_Win_unlock_all(s->win);
    MPI_Win_free(&s->win);
    MPI_Comm_free(&s->node);
  }
  free(s->r0);
  free(s->r1);
  free(s->st_gid);
  free(s->st_owner);
  free(s->st_off);
  free(s->stage);
  memset(s, 0, sizeof *s);
}
