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

void rtk_sched_init(rtk_sched *s, MPI_Comm comm, int dynamic, int64_t N, int64_t B, int64_t b0, int64_t b1,
                    int d, int nbnd, double *X, double *bnd) {
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
  s->N = N;
  s->B = B;
  s->b0 = b0;
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
  if (!all || !s->r0 || !s->r1) why = "out of memory";
  if (all) MPI_Allgather(mine, 2, MPI_INT64_T, all, 2, MPI_INT64_T, s->node);
  int64_t parts = 0;
  for (int i = 0; all && s->r0 && s->r1 && i < s->nsize; i++) {
    s->r0[i] = all[2 * i];
    s->r1[i] = all[2 * i + 1];
    s->total += s->r1[i] - s->r0[i];
    const int64_t q1 = s->r1[i] * B < N ? s->r1[i] * B : N;
    parts += q1 > s->r0[i] * B ? q1 - s->r0[i] * B : 0;
  }
  free(all);
  _Atomic int64_t probe = 0;
  if (!why && !atomic_is_lock_free(&probe)) why = "no lock-free 64-bit atomics";
  /* the exchange counts rows of d doubles in MPI ints: at most every particle of the node, with its boundaries */
  if (!why && (double)parts * (1 + nbnd) > INT_MAX) why = "too many particles and boundary rows per node";
  void *mem = NULL;
  if (!why) {
    MPI_Comm_set_errhandler(s->node, MPI_ERRORS_RETURN);
    const MPI_Aint bytes = s->me == 0 ? (MPI_Aint)SLOT * (s->nsize + 3) : 0;
    if (MPI_Win_allocate_shared(bytes, 1, MPI_INFO_NULL, s->node, &mem, &s->win) != MPI_SUCCESS) {
      s->win = MPI_WIN_NULL;
      why = "MPI_Win_allocate_shared failed";
    }
  }
  int ok = !why, allok = 0;
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
  atomic_store(slot(s, s->me), b0);
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

static int rows_of(const rtk_sched *s, int64_t b) {
  const int64_t g = b * s->B;
  return (int)(g + s->B <= s->N ? s->B : s->N - g);
}

/* a place in the staging buffer for block b of node rank owner */
static double *stage_block(rtk_sched *s, int64_t b, int owner) {
  const size_t need = (size_t)rows_of(s, b) * s->d * (1 + (size_t)s->nbnd);
  if (s->nst == s->cap) {
    const int64_t cap = s->cap ? 2 * s->cap : 16;
    int64_t *nb = realloc(s->st_block, sizeof(int64_t) * (size_t)cap);
    if (nb) s->st_block = nb;
    int *no = realloc(s->st_owner, sizeof(int) * (size_t)cap);
    if (no) s->st_owner = no;
    size_t *nf = realloc(s->st_off, sizeof(size_t) * (size_t)cap);
    if (nf) s->st_off = nf;
    if (!nb || !no || !nf) return NULL;
    s->cap = cap;
  }
  if (s->stage_len + need > s->stage_cap) {
    const size_t cap = 2 * s->stage_cap + need;
    double *ns = realloc(s->stage, sizeof(double) * cap);
    if (!ns) return NULL;
    s->stage = ns;
    s->stage_cap = cap;
  }
  s->st_block[s->nst] = b;
  s->st_owner[s->nst] = owner;
  s->st_off[s->nst] = s->stage_len;
  s->nst++;
  s->stage_len += need;
  return s->stage + s->st_off[s->nst - 1];
}

int rtk_sched_next(rtk_sched *s, int64_t *b, double **Xb, double **bcur, int64_t *stride, int64_t *base) {
  if (s->err || atomic_load(stop_flag(s))) return 0;
  int64_t t = atomic_fetch_add(slot(s, s->me), 1);
  if (t < s->r1[s->me]) { /* own block: into X, as the static schedule */
    *b = t;
    *Xb = s->X + (size_t)(t * s->B - s->p0) * s->d;
    *bcur = s->bnd;
    *stride = s->nloc;
    *base = s->p0;
    s->own++;
    return 1;
  }
  int v;
  for (;;) { /* the next block of the rank with the most left */
    v = -1;
    int64_t most = 0;
    for (int i = 0; i < s->nsize; i++) {
      const int64_t left = s->r1[i] - atomic_load(slot(s, i));
      if (i != s->me && left > most) {
        most = left;
        v = i;
      }
    }
    if (v < 0) return 0;
    t = atomic_fetch_add(slot(s, v), 1);
    if (t < s->r1[v]) break;
  }
  /* the block is claimed: we must compute it, or stop the node */
  double *p = stage_block(s, t, v);
  if (!p) {
    s->err = RTK_ERR(RTK_ERR_MEM, "out of memory staging block %lld (run.schedule = dynamic)", (long long)t);
    atomic_store(stop_flag(s), 1);
    return 0;
  }
  const int n = rows_of(s, t);
  *b = t;
  *Xb = p;
  *bcur = s->nbnd ? p + (size_t)n * s->d : NULL;
  *stride = n;
  *base = t * s->B;
  s->other++;
  return 1;
}

int64_t rtk_sched_block_done(rtk_sched *s) { return atomic_fetch_add(done_ctr(s), 1) + 1; }

/* agree over the node that every rank has its buffers (after an allocation) */
static int node_ok(const rtk_sched *s, int ok) {
  int all = 0;
  MPI_Allreduce(&ok, &all, 1, MPI_INT, MPI_MIN, s->node);
  return all;
}

int rtk_sched_finish(rtk_sched *s, int rc, int *abandon) {
  *abandon = 0;
  if (!s->on) return rc;
  if (rc || s->err) atomic_store(stop_flag(s), 1); /* the others stop taking blocks */
  if (!node_ok(s, !rc && !s->err)) {
    *abandon = 1;
    return rc ? rc : s->err;
  }
  const int P = s->nsize;
  const size_t rowlen = (size_t)s->d * (1 + (size_t)s->nbnd);
  int *cnt = calloc(4 * (size_t)P + 4, sizeof(int)); /* blocks to / from each rank, rows to / from each rank */
  int *dsp = calloc(4 * (size_t)P + 4, sizeof(int));
  int *scnt = cnt, *rcnt = cnt + P, *srow = cnt + 2 * P, *rrow = cnt + 3 * P;
  int *sdsp = dsp, *rdsp = dsp + P, *srdsp = dsp + 2 * P, *rrdsp = dsp + 3 * P;
  int64_t *sid = malloc(sizeof(int64_t) * (size_t)(s->nst + 1)), *rid = NULL;
  double *sbuf = malloc(sizeof(double) * (s->stage_len + 1)), *rbuf = NULL;
  int ok = cnt && dsp && sid && sbuf;
  if (ok) {
    for (int64_t j = 0; j < s->nst; j++) {
      scnt[s->st_owner[j]]++;
      srow[s->st_owner[j]] += rows_of(s, s->st_block[j]) * (1 + s->nbnd);
    }
    for (int i = 1; i < P; i++) {
      sdsp[i] = sdsp[i - 1] + scnt[i - 1];
      srdsp[i] = srdsp[i - 1] + srow[i - 1];
    }
    int *fill = calloc((size_t)P, sizeof(int)), *rfill = calloc((size_t)P, sizeof(int));
    ok = fill && rfill;
    for (int64_t j = 0; ok && j < s->nst; j++) { /* packed by owner, in the order computed */
      const int o = s->st_owner[j], n = rows_of(s, s->st_block[j]);
      sid[sdsp[o] + fill[o]++] = s->st_block[j];
      memcpy(sbuf + (size_t)(srdsp[o] + rfill[o]) * s->d, s->stage + s->st_off[j], sizeof(double) * n * rowlen);
      rfill[o] += n * (1 + s->nbnd);
    }
    free(fill);
    free(rfill);
  }
  free(s->stage); /* packed: the staging buffer is not needed any more */
  s->stage = NULL;
  s->stage_len = s->stage_cap = 0;
  int out = RTK_OK;
  if (!node_ok(s, ok)) {
    out = ok ? RTK_OK : RTK_ERR(RTK_ERR_MEM, "out of memory exchanging blocks (run.schedule = dynamic)");
    *abandon = 1;
    goto done;
  }
  MPI_Alltoall(scnt, 1, MPI_INT, rcnt, 1, MPI_INT, s->node);
  int nrecv = 0;
  for (int i = 0; i < P; i++) {
    rdsp[i] = nrecv;
    nrecv += rcnt[i];
  }
  rid = malloc(sizeof(int64_t) * ((size_t)nrecv + 1));
  if (!node_ok(s, rid != NULL)) {
    out = rid ? RTK_OK : RTK_ERR(RTK_ERR_MEM, "out of memory exchanging blocks (run.schedule = dynamic)");
    *abandon = 1;
    goto done;
  }
  MPI_Alltoallv(sid, scnt, sdsp, MPI_INT64_T, rid, rcnt, rdsp, MPI_INT64_T, s->node);
  size_t rows = 0;
  for (int i = 0; i < P; i++) {
    int r = 0;
    for (int j = 0; j < rcnt[i]; j++) r += rows_of(s, rid[rdsp[i] + j]) * (1 + s->nbnd);
    rrow[i] = r;
    rrdsp[i] = (int)rows;
    rows += (size_t)r;
  }
  rbuf = malloc(sizeof(double) * (rows * s->d + 1));
  if (!node_ok(s, rbuf != NULL)) {
    out = rbuf ? RTK_OK : RTK_ERR(RTK_ERR_MEM, "out of memory exchanging blocks (run.schedule = dynamic)");
    *abandon = 1;
    goto done;
  }
  MPI_Datatype row;
  MPI_Type_contiguous(s->d, MPI_DOUBLE, &row);
  MPI_Type_commit(&row);
  MPI_Alltoallv(sbuf, srow, srdsp, row, rbuf, rrow, rrdsp, row, s->node);
  MPI_Type_free(&row);
  /* into this rank's rows: every block of its range exactly once (own + received) */
  const double *src = rbuf;
  int64_t got = s->own;
  for (int j = 0; j < nrecv; j++) {
    const int64_t b = rid[j];
    const int n = rows_of(s, b);
    if (b < s->r0[s->me] || b >= s->r1[s->me]) {
      out = RTK_ERR(RTK_ERR_RUNTIME, "dynamic schedule: received block %lld outside this rank's range", (long long)b);
      break;
    }
    const size_t off = (size_t)(b * s->B - s->p0);
    memcpy(s->X + off * s->d, src, sizeof(double) * n * s->d);
    for (int k = 0; k < s->nbnd; k++)
      memcpy(s->bnd + ((size_t)k * s->nloc + off) * s->d, src + (size_t)(1 + k) * n * s->d, sizeof(double) * n * s->d);
    src += (size_t)n * rowlen;
    got++;
  }
  if (!out && got != s->r1[s->me] - s->r0[s->me])
    out = RTK_ERR(RTK_ERR_RUNTIME, "dynamic schedule: %lld of this rank's %lld blocks were computed", (long long)got,
                  (long long)(s->r1[s->me] - s->r0[s->me]));
done:
  free(cnt);
  free(dsp);
  free(sid);
  free(rid);
  free(sbuf);
  free(rbuf);
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
  free(s->st_block);
  free(s->st_owner);
  free(s->st_off);
  free(s->stage);
  memset(s, 0, sizeof *s);
}
