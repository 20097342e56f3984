#!/usr/bin/python3
"""Independent recomputation of every number an rtkbench results file reports.

  h5verify.py FILE [FILE ...]            verify every complete run of each file
  h5verify.py selftest FILE RUN_ID       corrupt copies of FILE (one metric of RUN_ID
                                         at a time) and require each to be reported
  h5verify.py near-exact FILE SAMPLER ... runs of these samplers are indistinguishable
                                         from exact samples (accuracy, sliced, mode TV)
  h5verify.py summary FILE LOG INFO_JSON [INFO_TXT]
                                         the summary table printed by `rtkbench run`
                                         (captured in LOG) equals `rtkbench info --json`
                                         (INFO_JSON), the `rtkbench info` table
                                         (INFO_TXT) and the file, row by row

Nothing here calls rtkbench code: the target, the time grid, the bins and the
metric options are read from the file (each run's /runs/<id>/target, times and
resolved config), and every metric is recomputed in numpy from the stored
samples, histograms and counts:

  * bin edges and exact bin probabilities of p_delta's coordinate marginals
    (normal CDFs via math.erfc), the histograms from the samples, TV per
    coordinate, mean TV, marginal accuracy, the binomial noise floor, excess;
  * mode assignments from the samples (direct per-component log-densities),
    mode_counts (summing to N), mode TV;
  * the linearised standard errors from the samples, and every stored
    *_ci95 against value -/+ 1.96 * *_se;
  * sliced accuracy (projected 1-D mixtures), mean / covariance (or variance)
    errors, the coordinate moment KL with its floor and SE, boundary
    accuracy at every stored grid time, the Fréchet distance and its
    measured floor;
  * NFE, acceptance and throughput bookkeeping;
  * for the `exact` sampler: accuracy, sliced accuracy, mode TV, moment KL
    and Fréchet distance lie within 5 standard deviations of their
    exact-sample expectations.

Sample-based recomputations need all particles stored (samples_stored = N);
otherwise only the histogram/count-based checks run.  Any float metric that
no check covers is reported as an error, so a new metric needs a check here.

Adding a metric: write a function `def check_<name>(r):` decorated with
@check, read what it needs from `r` (a Run: r.m the metrics group, r.X the
samples or None, r.w/r.mu/r.var the target, r.t the final time, r.cfg the
run's config), compare with r.close(...) / r.fail(...), and list the metric
names it verifies in r.covers(...).  See check_frechet for an example.
"""
import configparser
import json
import math
import re
import sys

import h5py
import numpy as np

Z95 = 1.96
KSIG = 5.0  # k-sigma for the statistical checks of exact samples
# not recomputable from the file (timings) or inputs rather than results
NOT_METRICS = {"wall_time", "seconds_per_segment", "sliced_directions", "bin_lo", "bin_hi", "histograms",
               "mode_counts", "accepted", "proposed", "nfe_total"}

CHECKS = []


def check(fn):
    CHECKS.append(fn)
    return fn


def s(v):
    return v.decode() if isinstance(v, bytes) else str(v)


# ---------------------------------------------------------------- exact law
def alpha_sigma2(t):
    return math.exp(-t), -math.expm1(-2.0 * t)


def ncdf(z):
    return 0.5 * math.erfc(-z / math.sqrt(2.0))


def mixture_cdf(w, m, sd, x):
    """CDF of the 1-D mixture sum_k w_k N(m_k, sd_k^2) at the points x"""
    out = np.zeros(len(x))
    for j, xv in enumerate(x):
        out[j] = sum(wk * ncdf((xv - mk) / sk) for wk, mk, sk in zip(w, m, sd))
    return out


def mixture_1d(w, mu, var, t):
    """means and standard deviations at time t of a 1-D mixture given at t = 0"""
    a, s2 = alpha_sigma2(t)
    return a * np.asarray(mu), np.sqrt(a * a * np.asarray(var) + s2)


def binomial_mad(n, p):
    """E|X - n p| for X ~ Bin(n, p) (De Moivre: 2 v C(n, v) p^v (1-p)^(n-v+1), v = floor(np) + 1)"""
    if p <= 0 or p >= 1 or n <= 0:
        return 0.0
    v = math.floor(n * p) + 1
    if v > n:
        return 0.0
    lg = math.lgamma(n + 1) - math.lgamma(v + 1) - math.lgamma(n - v + 1)
    return 2 * v * math.exp(lg + v * math.log(p) + (n - v + 1) * math.log1p(-p))


def _self_test_mad():
    """the closed form against direct summation of the binomial pmf"""
    for n, p in [(7, 0.3), (50, 0.02), (400, 0.5), (1000, 0.137)]:
        k = np.arange(n + 1)
        logpmf = np.array([math.lgamma(n + 1) - math.lgamma(i + 1) - math.lgamma(n - i + 1) for i in k]) \
            + k * math.log(p) + (n - k) * math.log1p(-p)
        direct = float(np.sum(np.exp(logpmf) * np.abs(k - n * p)))
        assert abs(direct - binomial_mad(n, p)) < 1e-9 * (1 + direct), (n, p, direct, binomial_mad(n, p))


def floor_stats(probs, N):
    """E[TV] and an upper bound of its s.d. for N exact samples, per row of probs [rows][bins]"""
    mean, sd = [], []
    for row in probs:
        mads = np.array([binomial_mad(N, float(p)) for p in row])
        var = np.maximum(N * row * (1 - row) - mads ** 2, 0)
        mean.append(0.5 * mads.sum() / N)
        sd.append(0.5 * math.sqrt(var.sum()) / N)
    return np.array(mean), np.array(sd)


def bins_of(x, lo, hi, nb):
    """bin index 0..nb+1 of every x (column-wise lo/hi), the rule of docs/format.md"""
    u = (x - lo) / (hi - lo)
    b = np.where(u >= 1, nb + 1, 0)
    inside = (u >= 0) & (u < 1)
    b = np.where(inside, np.minimum(1 + np.floor(np.where(inside, u, 0) * nb).astype(np.int64), nb), b)
    return b  # NaN: u >= 0 and u >= 1 are False -> 0


def histogram(x, lo, hi, nb, eps=0.0):
    """[cols][nb+2] counts; with eps > 0 also the number of values whose bin is
    ambiguous at relative rounding eps (differs between x(1 - eps) and x(1 + eps))"""
    b = bins_of(x, lo, hi, nb)
    cols = x.shape[1]
    h = np.zeros((cols, nb + 2), dtype=np.int64)
    for i in range(cols):
        h[i] = np.bincount(b[:, i], minlength=nb + 2)
    amb = np.zeros(cols, dtype=np.int64)
    if eps > 0:
        dx = eps * (1 + np.abs(x))
        amb = (bins_of(x - dx, lo, hi, nb) != bins_of(x + dx, lo, hi, nb)).sum(axis=0)
    return h, amb


def ranges(means, sds, nsd):
    """[cols] lo/hi: min_k(m - r sd), max_k(m + r sd); means/sds are [K][cols]"""
    return (means - nsd * sds).min(axis=0), (means + nsd * sds).max(axis=0)


def bin_probs(w, means, sds, lo, hi, nb):
    """[cols][nb+2] exact probabilities of the bins of every column's 1-D mixture"""
    cols = means.shape[1]
    P = np.zeros((cols, nb + 2))
    for i in range(cols):
        width = (hi[i] - lo[i]) / nb
        edges = np.array([hi[i] if b == nb else lo[i] + b * width for b in range(nb + 1)])
        c = mixture_cdf(w, means[:, i], sds[:, i], edges)
        P[i, 0] = c[0]
        P[i, 1:nb + 1] = np.diff(c)
        P[i, nb + 1] = 1 - c[-1]
    return P


def tv_sd(P, N, reps=400, seed=7):
    """s.d. of the TV of a multinomial(N, P[i]) histogram, per row, by simulation"""
    rng = np.random.default_rng(seed)
    out = np.empty(len(P))
    for i, p in enumerate(P):
        p = np.maximum(p, 0)
        c = rng.multinomial(N, p / p.sum(), size=reps) / N
        out[i] = (0.5 * np.abs(c - p[None, :]).sum(axis=1)).std(ddof=1)
    return out


def tv_rows(h, P, N):
    return 0.5 * np.abs(h / N - P).sum(axis=1)


def lin_se(u, N, d):
    """linearised SE: sd of the per-particle integer u over sqrt(N), over 2d"""
    u = u.astype(np.float64)
    var = float(np.mean(u * u) - np.mean(u) ** 2)
    return math.sqrt(var / N) / (2.0 * d) if var > 0 else 0.0


def sign_table(h, P, N):
    d = h / N - P
    return np.where(d > 0, 1, np.where(d < 0, -1, 0)).astype(np.int64)


# ---------------------------------------------------------------- one run
class Run:
    def __init__(self, f, rid, errors):
        g = f["runs"][rid]
        self.rid, self.g, self.m, self.errors = rid, g, g["metrics"], errors
        self.sampler = s(g.attrs["sampler"])
        self.N = int(g.attrs["particles"])
        self.d = int(g.attrs["dim"])
        self.S = int(g.attrs["segments"])
        self.times = g["times"][()]
        self.t = float(self.times[-1])
        tg = g["target"] if "target" in g else f["target"]
        self.w, self.mu, self.var = tg["weights"][()], tg["means"][()], tg["variances"][()]
        self.K = len(self.w)
        cp = configparser.ConfigParser(interpolation=None)
        cp.read_string(s(g["config"][()]))
        self.cfg = cp
        self.nb = cp.getint("metrics", "bins", fallback=100)
        self.rsd = cp.getfloat("metrics", "range_sd", fallback=4.0)
        M = int(g.attrs.get("samples_stored", self.N))
        self.X = g["samples"][()] if M == self.N else None
        self.covered = set()
        self.cache = {}

    def fail(self, msg):
        self.errors.append(f"{self.rid}: {msg}")

    def covers(self, *names):
        self.covered.update(names)

    def get(self, name):
        return self.m[name][()]

    def close(self, name, stored, mine, tol):
        """|stored - mine| <= tol elementwise (NaN equals NaN)"""
        a, b = np.asarray(stored, dtype=np.float64), np.asarray(mine, dtype=np.float64)
        if a.shape != b.shape:
            self.fail(f"{name}: shape {a.shape}, recomputed {b.shape}")
            return False
        bad = ~((np.abs(a - b) <= tol) | (np.isnan(a) & np.isnan(b)))
        if bad.any():
            i = np.argmax(bad.ravel())
            self.fail(f"{name}: stored {a.ravel()[i]!r}, recomputed {b.ravel()[i]!r} (tolerance {np.ravel(tol)[0] if np.ndim(tol) else tol:.3g}; "
                      f"{int(bad.sum())} of {bad.size} differ)")
            return False
        return True

    # shared pieces, computed once
    def marginal(self):
        if "marginal" not in self.cache:
            means, sds = mixture_1d(self.w, self.mu, self.var, self.t)
            lo, hi = ranges(means, sds, self.rsd)
            self.cache["marginal"] = (means, sds, lo, hi)
        return self.cache["marginal"]

    def assignments(self):
        """most responsible component of every particle at t, and how many are ambiguous"""
        if "assign" not in self.cache:
            means, sds = mixture_1d(self.w, self.mu, self.var, self.t)
            lam = sds ** 2
            const = np.log(self.w) - 0.5 * np.sum(np.log(2 * math.pi * lam), axis=1)
            ks, amb = np.empty(self.N, dtype=np.int64), 0
            for i0 in range(0, self.N, 4096):
                x = self.X[i0:i0 + 4096]
                L = const[None, :] - 0.5 * (((x[:, None, :] - means[None, :, :]) ** 2) / lam[None, :, :]).sum(axis=2)
                ks[i0:i0 + len(x)] = np.argmax(L, axis=1)
                top = np.sort(L, axis=1)[:, -2:] if self.K > 1 else None
                if top is not None:
                    amb += int((top[:, 1] - top[:, 0] <= 1e-9 * (1 + np.abs(top[:, 1]))).sum())
            self.cache["assign"] = (ks, amb)
        return self.cache["assign"]


@check
def check_marginal(r):
    means, sds, lo, hi = r.marginal()
    nb, N, d = r.nb, r.N, r.d
    r.close("bin_lo", r.get("bin_lo"), lo, 1e-12 * (1 + np.abs(lo)))
    r.close("bin_hi", r.get("bin_hi"), hi, 1e-12 * (1 + np.abs(hi)))
    # bins from the stored edges (so that a histogram recomputed from samples is bitwise comparable)
    slo, shi = r.get("bin_lo"), r.get("bin_hi")
    P = bin_probs(r.w, means, sds, slo, shi, nb)
    r.close("bin_probs", r.get("bin_probs"), P, 1e-12)
    h = r.get("histograms")
    if h.shape != (d, nb + 2):
        r.fail(f"histograms shape {h.shape}, expected {(d, nb + 2)}")
        return
    if not (h.sum(axis=1) == N).all():
        r.fail("histogram rows do not sum to N")
    if r.X is not None:
        hx, _ = histogram(r.X, slo, shi, nb)
        if not np.array_equal(hx, h):
            r.fail(f"histograms differ from the samples' ({int(np.abs(hx - h).sum())} counts)")
    tv = tv_rows(h, P, N)
    fl, fsd = floor_stats(P, N)
    r.close("marginal_tv", r.get("marginal_tv"), tv, 1e-12)
    r.close("mean_tv", r.get("mean_tv"), tv.mean(), 1e-12)
    r.close("marginal_accuracy", r.get("marginal_accuracy"), 1 - tv.mean(), 1e-12)
    r.close("noise_floor", r.get("noise_floor"), fl.mean(), 1e-10)
    r.close("excess_tv", r.get("excess_tv"), tv.mean() - fl.mean(), 1e-10)
    r.covers("bin_probs", "marginal_tv", "mean_tv", "marginal_accuracy", "noise_floor", "excess_tv")
    if r.X is not None:
        sign = sign_table(h, P, N)
        b = bins_of(r.X, slo, shi, nb)
        u = sign[np.arange(d)[None, :], b].sum(axis=1)
        r.close("marginal_accuracy_se", r.get("marginal_accuracy_se"), lin_se(u, N, d), 1e-12)
        r.covers("marginal_accuracy_se")
    if r.sampler == "exact":
        acc, lvl, sd = 1 - tv.mean(), 1 - fl.mean(), tv_sd(P, N).mean()  # mean of s.d.s bounds the s.d. of the mean
        if abs(acc - lvl) > KSIG * sd:
            r.fail(f"exact samples: accuracy {acc:.5f} not within {KSIG:g} sd ({sd:.5f}) of the floor level {lvl:.5f}")


@check
def check_modes(r):
    c = r.get("mode_counts")
    N = r.N
    if c.shape != (r.K,) or int(c.sum()) != N or (c < 0).any():
        r.fail(f"mode_counts {c.shape} sum {int(c.sum())}, expected [{r.K}] summing to N = {N}")
        return
    if r.X is not None:
        ks, amb = r.assignments()
        mine = np.bincount(ks, minlength=r.K)
        diff = int(np.abs(mine - c).sum())
        if diff > 2 * amb:
            r.fail(f"mode_counts differ from the samples' assignments by {diff} (ambiguous particles: {amb})")
    tv = 0.5 * np.abs(c / N - r.w).sum()
    r.close("mode_tv", r.get("mode_tv"), tv, 1e-12)
    r.covers("mode_tv")
    if r.X is not None:
        ks, _ = r.assignments()
        d = c / N - r.w
        sign = np.where(d > 0, 1, np.where(d < 0, -1, 0))
        r.close("mode_tv_se", r.get("mode_tv_se"), lin_se(sign[ks], N, 1), 1e-12)
        r.covers("mode_tv_se")
    if r.sampler == "exact":
        mean, sd = exact_mode_tv(r)
        if abs(tv - mean) > KSIG * sd:
            r.fail(f"exact samples: mode TV {tv:.5f} not within {KSIG:g} sd ({sd:.5f}) of its expectation {mean:.5f}")


def exact_mode_tv(r, n=200000):
    """Expectation and s.d. bound of the mode TV of N exact samples.  A particle counts for its
    most responsible component, so overlapping components shift the frequencies from w_k to
    pi_k = P(argmax = k); pi is estimated from n exact samples drawn here (numpy, fixed seed)
    and its Monte Carlo error added to the s.d."""
    rng = np.random.default_rng(12345)
    means, sds = mixture_1d(r.w, r.mu, r.var, r.t)
    lam = sds ** 2
    const = np.log(r.w) - 0.5 * np.sum(np.log(2 * math.pi * lam), axis=1)
    counts = np.zeros(r.K)
    for i0 in range(0, n, 8192):
        k = rng.choice(r.K, size=min(8192, n - i0), p=r.w / r.w.sum())
        x = means[k] + sds[k] * rng.standard_normal((len(k), r.d))
        L = const[None, :] - 0.5 * (((x[:, None, :] - means[None, :, :]) ** 2) / lam[None, :, :]).sum(axis=2)
        counts += np.bincount(np.argmax(L, axis=1), minlength=r.K)
    pi = counts / n
    sim = rng.multinomial(r.N, pi, size=4000) / r.N  # mode TV of N exact samples, 4000 replicates
    tvs = 0.5 * np.abs(sim - r.w[None, :]).sum(axis=1)
    mc = 0.5 * np.sqrt(pi * (1 - pi) / n).sum()  # Monte Carlo error of the estimated pi
    mean, sd = float(tvs.mean()), math.sqrt(float(tvs.var()) + mc * mc)
    return mean, sd


@check
def check_intervals(r):
    """every stored *_ci95 is value -/+ 1.96 * *_se"""
    for k in r.m:
        if k.endswith("_se"):
            v = float(r.get(k))
            if not (v >= 0 and math.isfinite(v)):
                r.fail(f"{k} = {v} is not a finite non-negative number")
        if not k.endswith("_ci95"):
            continue
        base = k[:-5]
        if base not in r.m or base + "_se" not in r.m:
            r.fail(f"{k} without {base} and {base}_se")
            continue
        v, se = float(r.get(base)), float(r.get(base + "_se"))
        r.close(k, r.get(k), [v - Z95 * se, v + Z95 * se], 1e-12 * (1 + abs(v)))
        r.covers(k)


@check
def check_sliced(r):
    if "sliced_accuracy" not in r.m:
        return
    U = r.get("sliced_directions")
    ns = r.cfg.getint("metrics", "slices", fallback=8)
    if U.shape != (ns, r.d):
        r.fail(f"sliced_directions shape {U.shape}, expected {(ns, r.d)}")
        return
    r.close("sliced_directions norms", np.sqrt((U * U).sum(axis=1)), np.ones(ns), 1e-12)
    # the projection u.x of the mixture: means u.mu_k, variances sum_j u_j^2 v_kj, then OU-noised
    pmu, pvar = r.mu @ U.T, r.var @ (U * U).T
    means, sds = mixture_1d(r.w, pmu, pvar, r.t)
    lo, hi = ranges(means, sds, r.rsd)
    P = bin_probs(r.w, means, sds, lo, hi, r.nb)
    fl, fsd = floor_stats(P, r.N)
    r.close("sliced_exact_level", r.get("sliced_exact_level"), 1 - fl.mean(), 1e-10)
    r.covers("sliced_exact_level")
    if r.X is None:
        return
    Y = r.X @ U.T  # numpy's product rounds differently from the C dgemm: bins at an edge are ambiguous
    h, amb = histogram(Y, lo, hi, r.nb, eps=1e-12)
    tv = tv_rows(h, P, r.N)
    tol = amb / r.N + 1e-12
    r.close("sliced_tv", r.get("sliced_tv"), tv, tol)
    r.close("sliced_accuracy", r.get("sliced_accuracy"), 1 - tv.mean(), tol.mean())
    r.covers("sliced_tv", "sliced_accuracy")
    if r.sampler == "exact" and abs(tv.mean() - fl.mean()) > KSIG * tv_sd(P, r.N).mean():
        r.fail(f"exact samples: sliced accuracy {1 - tv.mean():.5f} not within {KSIG:g} sd of {1 - fl.mean():.5f}")


def exact_moments(r):
    a, s2 = alpha_sigma2(r.t)
    m = a * (r.w @ r.mu)
    second = a * a * np.einsum("k,ki,kj->ij", r.w, r.mu, r.mu) + np.diag(r.w @ (a * a * r.var + s2))
    cov = second - np.outer(m, m)
    D = a * r.mu - m[None, :]
    Sg = a * a * r.var + s2
    mu4 = r.w @ (D ** 4 + 6 * D * D * Sg + 3 * Sg * Sg)
    return m, cov, mu4


@check
def check_moments(r):
    if "mean_error" not in r.m or r.X is None:
        return
    X, N, d = r.X, r.N, r.d
    if not np.isfinite(X).all() or np.abs(X).max() > 1e3:
        return  # the file's fixed-point sums clamp and zero such values; not modelled here
    m, cov, mu4 = exact_moments(r)
    mh = X.mean(axis=0)
    # the file's moments are fixed-point sums: first moments at 2^-20, second at 2^-10 per
    # particle; independent uniform roundings average to sd 2^-k / sqrt(12 N): 6 sd per entry
    e1 = 6 * 2.0 ** -20 / math.sqrt(12 * N) + 2.0 ** -21 / N
    e2 = 6 * 2.0 ** -10 / math.sqrt(12 * N) + 2.0 ** -11 / N + 2 * np.abs(mh) * e1
    r.close("mean_error", r.get("mean_error"), np.linalg.norm(mh - m), math.sqrt(d) * e1 + 1e-12)
    r.covers("mean_error")
    if "cov_error" in r.m:
        C = X.T @ X / N - np.outer(mh, mh)
        r.close("cov_error", r.get("cov_error"), np.linalg.norm(C - cov), float(np.sqrt(np.add.outer(e2, e2) ** 2 / 4).sum()) + 1e-12)
        r.covers("cov_error")
        if d > 64:
            r.fail("cov_error stored for d > 64")
    if "var_error" in r.m:
        v = (X * X).mean(axis=0) - mh * mh
        r.close("var_error", r.get("var_error"), np.linalg.norm(v - np.diag(cov)), float(np.sqrt((e2 ** 2).sum())) + 1e-12)
        r.covers("var_error")
        if d <= 64:
            r.fail("var_error stored for d <= 64")
    # coordinate moment KL (docs/design.md, Moment KL), its floor and SE
    v = np.diag(cov)
    vh = (X * X).mean(axis=0) - mh * mh
    z1, z2 = (mh - m) / np.sqrt(v), (vh - v) / v
    q1, q2 = np.full(d, 1.0 / N), (mu4 / v ** 2 - 1) / N
    b1, b2 = np.maximum(z1 * z1 - q1, 0), np.maximum(z2 * z2 - q2, 0)
    floor = float((q1 / 2 + q2 / 4).sum())
    kl = float((z1 * z1 / 2 + z2 * z2 / 4).sum()) - floor
    var = float(((2 * q1 * q1 + 4 * b1 * q1) / 4 + (2 * q2 * q2 + 4 * b2 * q2) / 16).sum())
    se = math.sqrt(var)
    d1, d2 = e1 / np.sqrt(v), (e2 + 2 * np.abs(mh) * e1) / v  # fixed-point uncertainty of z1, z2
    tkl = float(((np.abs(z1) + d1) * d1 + (np.abs(z2) + d2) * d2 / 2).sum()) + 1e-12
    tvar = float((q1 * 2 * (np.abs(z1) + d1) * d1 + q2 * 2 * (np.abs(z2) + d2) * d2 / 4).sum())
    r.close("moment_kl_floor", r.get("moment_kl_floor"), floor, 1e-12 * (1 + floor))
    r.close("moment_kl", r.get("moment_kl"), kl, tkl)
    r.close("moment_kl_se", r.get("moment_kl_se"), se, tvar / (2 * se) + 1e-12 if se > 0 else 1e-12)
    r.covers("moment_kl", "moment_kl_floor", "moment_kl_se")
    if r.sampler == "exact" and abs(kl) > KSIG * se:
        r.fail(f"exact samples: moment KL {kl:.3g} not within {KSIG:g} SE ({se:.3g}) of 0")


def frechet(m1, C1, m, C):
    """FD = |m1 - m|^2 + tr(C1) + tr(C) - 2 tr((C^1/2 C1 C^1/2)^1/2), by symmetric eigendecompositions"""
    ev, V = np.linalg.eigh(C)
    sC = (V * np.sqrt(np.maximum(ev, 0))) @ V.T
    M = sC @ C1 @ sC
    mu = np.linalg.eigvalsh(0.5 * (M + M.T))
    return float(((m1 - m) ** 2).sum() + np.trace(C1) + np.trace(C) - 2 * np.sqrt(np.maximum(mu, 0)).sum())


def exact_fd_law(r, reps=100):
    """mean and s.d. of the FD of N exact samples of p_delta, by simulation (numpy, fixed seed)"""
    if "fd_law" in r.cache:
        return r.cache["fd_law"]
    rng = np.random.default_rng(4242)
    m, C, _ = exact_moments(r)
    means, sds = mixture_1d(r.w, r.mu, r.var, r.t)
    fds = []
    for _ in range(reps):
        k = rng.choice(r.K, size=r.N, p=r.w / r.w.sum())
        x = means[k] + sds[k] * rng.standard_normal((r.N, r.d))
        mh = x.mean(axis=0)
        fds.append(frechet(mh, (x - mh).T @ (x - mh) / r.N, m, C))
    r.cache["fd_law"] = (float(np.mean(fds)), float(np.std(fds, ddof=1)))
    return r.cache["fd_law"]


@check
def check_frechet(r):
    """Fréchet distance to the exact moments of p_delta: the file's sums quantise each
    coordinate's offset from the exact mean to 2^-12 (nearest, ties to even, clamped to
    +-256), so the same quantisation here makes the moments equal up to rounding; the
    floor statistics are consistent with the stored floor sets; for `exact`, the FD and
    the floor agree with the FD law of N exact samples simulated here."""
    if "frechet_distance" not in r.m:
        return
    m, C, _ = exact_moments(r)
    fd, floor = float(r.get("frechet_distance")), float(r.get("frechet_floor"))
    if r.X is not None:
        q = np.rint(np.clip(np.nan_to_num(r.X - m, nan=256.0), -256.0, 256.0) * 4096.0)
        dl = q.mean(axis=0) / 4096.0
        C1 = (q.T @ q) / 4096.0 ** 2 / r.N - np.outer(dl, dl)
        r.close("frechet_distance", fd, frechet(m + dl, C1, m, C), 1e-10 * (1 + np.trace(C)))
        r.covers("frechet_distance")
    r.close("frechet_excess", r.get("frechet_excess"), fd - floor, 1e-15 * (1 + abs(fd)))
    r.covers("frechet_excess")
    if "frechet_floor_sets" in r.m:
        sets = r.get("frechet_floor_sets")
        R = len(sets)
        sd = float(np.std(sets, ddof=1)) if R > 1 else np.nan
        r.close("frechet_floor", floor, sets.mean(), 1e-14 * (1 + abs(floor)))
        r.close("frechet_floor_sd", r.get("frechet_floor_sd"), sd, 1e-12 * (1 + abs(floor)))
        r.close("frechet_floor_se", r.get("frechet_floor_se"), sd / math.sqrt(R), 1e-12 * (1 + abs(floor)))
        r.covers("frechet_floor", "frechet_floor_sd", "frechet_floor_se", "frechet_floor_sets")
        if r.sampler == "exact":
            mean, s = exact_fd_law(r)
            if abs(sets.mean() - mean) > KSIG * s / math.sqrt(R):
                r.fail(f"frechet_floor {sets.mean():.4g} not within {KSIG:g} sd of the simulated exact-sample FD {mean:.4g} (sd {s:.3g})")
    if r.sampler == "exact":
        mean, s = exact_fd_law(r)
        if abs(fd - mean) > KSIG * s:
            r.fail(f"exact samples: FD {fd:.4g} not within {KSIG:g} sd of the simulated exact-sample FD {mean:.4g} (sd {s:.3g})")

@check
def check_boundaries(r):
    if "boundary_accuracy" not in r.m:
        return
    ba, lvl = r.get("boundary_accuracy"), r.get("boundary_exact_level")
    if ba.shape != (r.S + 1,) or lvl.shape != (r.S + 1,):
        r.fail(f"boundary_accuracy shape {ba.shape}, expected {(r.S + 1,)}")
        return
    if ba[-1] != r.get("marginal_accuracy"):
        r.fail("boundary_accuracy at the last time differs from marginal_accuracy")
    acc, lv, tol = np.empty(r.S + 1), np.empty(r.S + 1), np.empty(r.S + 1)
    have = "boundaries" in r.g
    for k, t in enumerate(r.times):
        means, sds = mixture_1d(r.w, r.mu, r.var, float(t))
        lo, hi = ranges(means, sds, r.rsd)
        P = bin_probs(r.w, means, sds, lo, hi, r.nb)
        fl, _ = floor_stats(P, r.N)
        lv[k] = 1 - fl.mean()
        if have:
            h, amb = histogram(r.g["boundaries"][k], lo, hi, r.nb, eps=1e-12)
            acc[k] = 1 - tv_rows(h, P, r.N).mean()
            tol[k] = amb.mean() / r.N + 1e-12
    r.close("boundary_exact_level", lvl, lv, 1e-10)
    r.covers("boundary_exact_level")
    if have:
        r.close("boundary_accuracy", ba, acc, tol)
    # without stored boundaries only the last entry (= marginal_accuracy, checked above) is recomputable
    r.covers("boundary_accuracy")


@check
def check_counts(r):
    N, S, m = r.N, r.S, r.m
    nfe_total = int(r.get("nfe_total"))
    r.close("nfe", r.get("nfe"), nfe_total / N, 0)
    r.close("nfe attribute", r.g.attrs["nfe"], nfe_total / N, 0)
    nps = r.get("nfe_per_segment")
    if nps.shape != (S,):
        r.fail(f"nfe_per_segment shape {nps.shape}")
    elif S:
        ints = np.rint(nps * N)
        r.close("nfe_per_segment (integer counts)", nps * N, ints, 1e-6 * (1 + ints))
        if int(ints.sum()) != nfe_total:
            r.fail(f"nfe_per_segment sums to {int(ints.sum())} evaluations, nfe_total is {nfe_total}")
    acc, prop = r.get("accepted"), r.get("proposed")
    if acc.shape != (S,) or prop.shape != (S,) or (acc > prop).any() or (acc < 0).any():
        r.fail("accepted/proposed inconsistent")
    else:
        with np.errstate(invalid="ignore", divide="ignore"):
            r.close("acceptance", r.get("acceptance"), np.where(prop > 0, acc / np.maximum(prop, 1), np.nan), 1e-15)
            tot = acc.sum() / prop.sum() if prop.sum() else np.nan
        r.close("acceptance_overall", r.get("acceptance_overall"), tot, 1e-15)
        if r.sampler not in ("rtk-mala", "rtk-mala-score") and prop.sum():
            r.fail("proposals counted for a sampler without Metropolis steps")
    wall = float(r.get("wall_time"))
    r.close("nfe_per_second", r.get("nfe_per_second"), nfe_total / wall if wall > 0 else 0, 1e-9 * (1 + nfe_total / max(wall, 1e-300)))
    r.close("particles_per_second", r.get("particles_per_second"), N / wall if wall > 0 else 0, 1e-9 * (1 + N / max(wall, 1e-300)))
    r.covers("nfe", "nfe_per_segment", "acceptance", "acceptance_overall", "nfe_per_second", "particles_per_second")


@check
def check_time_phases(r):
    """`time_phases` [2][6]: seconds of score, rng, sampler, diagnostics, wait,
    io, max (row 0) and mean (row 1) over ranks.  Timings are not recomputable,
    but they must be consistent with the file: non-negative, mean <= max, score
    and rng both NaN (fine timers off) or both finite; on every rank score + rng
    + sampler lie inside the kernel span, so their means are <= wall_time; the
    slowest rank's kernel span lies inside its score + rng + sampler +
    diagnostics + wait, so the sum of those maxima is >= wall_time."""
    if "time_phases" not in r.m:
        return  # files written before the timers existed
    tp = np.asarray(r.get("time_phases"), dtype=float)
    r.covers("time_phases")
    if tp.shape != (2, 6):
        r.fail(f"time_phases shape {tp.shape}")
        return
    mx, mean = tp
    if np.isnan(mx[0]) != np.isnan(mx[1]) or np.isnan(mean[0]) != np.isnan(mx[0]) or np.isnan(mean[1]) != np.isnan(mx[1]) \
            or not np.isfinite(tp[:, 2:]).all():
        r.fail(f"time_phases: score/rng must be NaN together, the rest finite: {tp.tolist()}")
        return
    fin = np.isfinite(tp)
    if (tp[fin] < 0).any():
        r.fail(f"time_phases: negative time {tp.tolist()}")
    if (mean[fin[1]] > mx[fin[0]] * (1 + 1e-12) + 1e-15).any():
        r.fail(f"time_phases: mean over ranks exceeds the max {tp.tolist()}")
    wall = float(r.get("wall_time"))
    tol = 1e-3 * wall + 1e-4
    inner = np.nansum(mean[:3])
    if inner > wall + tol:
        r.fail(f"time_phases: mean score + rng + sampler {inner:.6g} s exceeds wall_time {wall:.6g} s")
    outer = np.nansum(mx[:5])
    if outer < wall - tol:
        r.fail(f"time_phases: max score + rng + sampler + diagnostics + wait {outer:.6g} s below wall_time {wall:.6g} s")


@check
def check_smc(r):
    """SMC bookkeeping (`ess`, `groups`, `resampled`): for smc, every segment
    visits ceil(N / smc.group) resampling groups, resamples at most that many
    and all of them after the last step, and the mean ESS / group size lies in
    (0, 1]; every other sampler stores NaN and zeros."""
    if "ess" not in r.m:
        return
    S = r.S
    ess, groups, res = r.get("ess"), r.get("groups"), r.get("resampled")
    if ess.shape != (S,) or groups.shape != (S,) or res.shape != (S,):
        r.fail(f"ess/groups/resampled shapes {ess.shape}, {groups.shape}, {res.shape} (want ({S},))")
    elif r.sampler != "smc":
        if not np.isnan(ess).all() or groups.any() or res.any():
            r.fail("ess/groups/resampled set for a sampler that does not resample")
    else:
        G = r.cfg.getint("smc", "group", fallback=0)
        want = -(-r.N // G) if G > 0 else None
        if want is not None and (groups != want).any():
            r.fail(f"groups {groups.tolist()} != ceil(N / group) = {want}")
        if (res < 0).any() or (res > groups).any():
            r.fail(f"resampled {res.tolist()} outside [0, groups]")
        elif S and res[-1] != groups[-1]:
            r.fail("not every group resampled after the last step")
        if not ((ess > 0) & (ess <= 1 + 1e-9)).all():
            r.fail(f"ess / group size {ess.tolist()} outside (0, 1]")
    r.covers("ess")


def verify(path, only=None, quiet=False):
    errors = []
    nruns = 0
    with h5py.File(path, "r") as f:
        for rid in f["runs"]:
            g = f["runs"][rid]
            if only and rid != only:
                continue
            if s(g.attrs["status"]) != "complete":
                continue
            nruns += 1
            r = Run(f, rid, errors)
            for c in CHECKS:
                c(r)
            if r.X is not None:  # with all samples stored, every float metric must have been recomputed
                for k in r.m:
                    if k in NOT_METRICS or k in r.covered or r.m[k].dtype.kind != "f":
                        continue
                    r.fail(f"metrics/{k} has no independent check (add one to tests/h5verify.py)")
    if not quiet:
        print(f"{path}: {nruns} complete runs verified")
    return errors


# ---------------------------------------------------------------- summary table
def info_table(txt):
    """rows of the `rtkbench info` text table: name -> its last 8 columns (the sweep may hold spaces)"""
    rows = {}
    for l in open(txt).read().splitlines():
        t = l.split()
        if len(t) >= 12 and re.match(r"^\d{4}-", t[0]):
            rows[t[0]] = dict(zip(["NFE", "particles", "dim", "accuracy", "floor", "mode-TV", "accept", "wall"], t[-8:]))
    return rows


def summary(path, log, info_json, info_txt=None):
    """The table `rtkbench run` printed (resumed or not) against `rtkbench info` (--json and
    text) and the file."""
    errors = []
    itab = info_table(info_txt) if info_txt else None
    text = open(log).read().splitlines()
    try:
        start = max(i for i, l in enumerate(text) if l.startswith("run ") and "accuracy" in l and "sampler" in l)
    except ValueError:
        return [f"{log}: no summary table"]
    rows = []
    for l in text[start + 1:]:
        if not re.match(r"^\d+\s", l):
            break
        rows.append(l.split())
    info = json.load(open(info_json))["runs"]
    with h5py.File(path, "r") as f:
        ids = sorted(f["runs"])
        if len(rows) != len(ids) or len(info) != len(ids):
            return [f"summary has {len(rows)} rows, info {len(info)}, the file {len(ids)} runs"]
        for row, inf, rid in zip(rows, info, ids):
            g = f["runs"][rid]
            m = g["metrics"]
            if inf["id"] != rid:
                errors.append(f"info lists {inf['id']} where the file has {rid}")
            # run sampler sweep NFE accuracy ±95% floor excess mode-TV accept wall NFE/s (sweep may hold spaces)
            tail = row[-9:]
            idx, sampler = int(row[0]), row[1]
            want = {
                "index": (idx, int(g.attrs["index"])),
                "sampler": (sampler, inf["sampler"]),
                "NFE": (tail[0], f"{inf['nfe']:.1f}"),
                "accuracy": (tail[1], f"{inf['marginal_accuracy']:.4f}"),
                "±95%": (tail[2], f"{Z95 * m['marginal_accuracy_se'][()]:.4f}"),
                "floor": (tail[3], f"{1 - inf['noise_floor']:.4f}"),
                "excess": (tail[4], f"{inf['excess_tv']:+.4f}"),
                "mode-TV": (tail[5], f"{inf['mode_tv']:.4f}"),
                "accept": (tail[6], "-" if inf["acceptance"] is None else f"{inf['acceptance']:.3f}"),
                "wall": (tail[7], f"{inf['wall_time']:.2f}"),
                "NFE/s": (tail[8], f"{inf['nfe_per_second']:.3e}"),
            }
            # info's numbers are the file's
            for key, h5v in [("marginal_accuracy", m["marginal_accuracy"][()]), ("noise_floor", m["noise_floor"][()]),
                             ("mode_tv", m["mode_tv"][()]), ("excess_tv", m["excess_tv"][()])]:
                if abs(inf[key] - h5v) > 1e-9 * (1 + abs(h5v)):
                    errors.append(f"{rid}: info {key} {inf[key]} vs file {h5v}")
            for k, (a, b) in want.items():
                if a != b:
                    errors.append(f"row {row[0]} ({rid}) {k}: summary {a}, info/file {b}")
            if itab is not None:
                t = itab.get(rid)
                if t is None:
                    errors.append(f"{rid} missing from the info table")
                    continue
                for k in ["NFE", "accuracy", "floor", "mode-TV", "wall"]:
                    if t[k] != want[k][0]:
                        errors.append(f"row {row[0]} ({rid}) {k}: summary {want[k][0]}, info table {t[k]}")
                if (t["accept"] == "nan") != (want["accept"][0] == "-") or (t["accept"] != "nan" and t["accept"] != want["accept"][0]):
                    errors.append(f"row {row[0]} ({rid}) accept: summary {want['accept'][0]}, info table {t['accept']}")
                if int(t["particles"]) != int(g.attrs["particles"]) or int(t["dim"]) != int(g.attrs["dim"]):
                    errors.append(f"{rid}: info table particles/dim {t['particles']}/{t['dim']}")
    return errors


# ---------------------------------------------------------------- sampler quality
def near_exact(path, samplers):
    """The named samplers' runs are statistically indistinguishable from exact samples of the
    same size: marginal and sliced accuracy within KSIG s.d. of the exact-sample level, mode TV
    within KSIG s.d. of its exact-sample expectation (s.d.s of N exact samples, see above)."""
    errors = []
    with h5py.File(path, "r") as f:
        for rid in f["runs"]:
            r = Run(f, rid, errors)
            if r.sampler not in samplers:
                continue
            means, sds, lo, hi = r.marginal()
            P = bin_probs(r.w, means, sds, r.get("bin_lo"), r.get("bin_hi"), r.nb)
            fl, _ = floor_stats(P, r.N)
            acc, sd = float(r.get("marginal_accuracy")), tv_sd(P, r.N).mean()
            if abs(acc - (1 - fl.mean())) > KSIG * sd:
                r.fail(f"accuracy {acc:.4f} not within {KSIG:g} sd ({sd:.4f}) of exact samples' {1 - fl.mean():.4f}")
            if "sliced_accuracy" in r.m:
                U = r.get("sliced_directions")
                sm, ss = mixture_1d(r.w, r.mu @ U.T, r.var @ (U * U).T, r.t)
                slo, shi = ranges(sm, ss, r.rsd)
                SP = bin_probs(r.w, sm, ss, slo, shi, r.nb)
                sfl, _ = floor_stats(SP, r.N)
                sa, ssd = float(r.get("sliced_accuracy")), tv_sd(SP, r.N).mean()
                if abs(sa - (1 - sfl.mean())) > KSIG * ssd:
                    r.fail(f"sliced accuracy {sa:.4f} not within {KSIG:g} sd ({ssd:.4f}) of exact samples' {1 - sfl.mean():.4f}")
            tv, (mean, msd) = float(r.get("mode_tv")), exact_mode_tv(r)
            if abs(tv - mean) > KSIG * msd:
                r.fail(f"mode TV {tv:.4f} not within {KSIG:g} sd ({msd:.4f}) of exact samples' {mean:.4f}")
            print(f"{rid}: accuracy {acc:.4f} vs {1 - fl.mean():.4f} (sd {sd:.4f}), mode TV {tv:.4f} vs {mean:.4f} (sd {msd:.4f})")
    return errors


# ---------------------------------------------------------------- the checker can fail
# (dataset, transformation): one realistic error each, applied to a copy of a good file
CORRUPTIONS = [
    ("marginal_accuracy", lambda v: v - 1e-9),
    ("marginal_tv", lambda v: v * (1 + 1e-6)),
    ("noise_floor", lambda v: v * 1.001),
    ("excess_tv", lambda v: v + 1e-6),
    ("mode_tv", lambda v: v * 1.01),
    ("mode_tv_se", lambda v: v * 1.01),
    ("mode_tv_ci95", lambda v: np.array([v.mean() - 1.64 * (v[1] - v[0]) / 3.92, v.mean() + 1.64 * (v[1] - v[0]) / 3.92])),
    ("marginal_accuracy_ci95", lambda v: v + 1e-6),
    ("marginal_accuracy_se", lambda v: v * 1.001),
    ("mode_counts", lambda v: np.roll(v, 1)),
    ("histograms", lambda v: np.concatenate([v[:, :1] + 1, v[:, 1:2] - 1, v[:, 2:]], axis=1)),
    ("bin_probs", lambda v: v * (1 + 1e-9)),
    ("sliced_accuracy", lambda v: v + 1e-4),
    ("sliced_tv", lambda v: v[::-1].copy() + 1e-4),
    ("sliced_exact_level", lambda v: v - 1e-6),
    ("mean_error", lambda v: v * 1.02),
    ("cov_error", lambda v: v * 1.02),
    ("moment_kl", lambda v: v + 1e-3 * (1 + abs(v))),
    ("moment_kl_se", lambda v: v * 1.05),
    ("moment_kl_floor", lambda v: v * 1.01),
    ("boundary_accuracy", lambda v: v - 1e-6),
    ("boundary_exact_level", lambda v: v + 1e-6),
    ("acceptance", lambda v: np.nan_to_num(v) + 1e-3),
    ("nfe", lambda v: v + 1),
    ("nfe_per_segment", lambda v: v[::-1].copy() if len(v) > 1 and v[0] != v[-1] else v + 1),
    ("nfe_per_second", lambda v: v * 2 + 1),
    ("time_phases", lambda v: -v - 1),
    ("frechet_distance", lambda v: v * 1.001),
    ("frechet_floor", lambda v: v * 1.01),
    ("frechet_floor_sd", lambda v: v * 1.01),
    ("frechet_excess", lambda v: v + 1e-6),
]


def selftest(path, rid):
    """every corruption of run rid (a run id, or a sampler name: its first
    run) in a copy of path must be reported"""
    import os
    import shutil
    import tempfile
    errors = []
    with h5py.File(path, "r") as f:
        if rid not in f["runs"]:
            ids = [k for k, g in f["runs"].items() if s(g.attrs["sampler"]) == rid]
            if not ids:
                return [f"selftest: no run or sampler {rid} in {path}"]
            rid = sorted(ids)[0]
    tmp = tempfile.mkdtemp()
    try:
        base = os.path.join(tmp, "good.h5")
        shutil.copy(path, base)
        if verify(base, rid):
            return [f"{path} does not verify before corruption"]
        for name, fn in CORRUPTIONS:
            bad = os.path.join(tmp, "bad.h5")
            shutil.copy(base, bad)
            with h5py.File(bad, "r+") as f:
                m = f["runs"][rid]["metrics"]
                if name not in m:
                    errors.append(f"selftest: {rid} has no metrics/{name}")
                    continue
                old = m[name][()]
                new = np.asarray(fn(old), dtype=old.dtype)
                if np.array_equal(new, old, equal_nan=new.dtype.kind == "f"):
                    errors.append(f"selftest: corruption of {name} changes nothing")
                    continue
                m[name][...] = new
            if not verify(bad, rid, True):
                errors.append(f"selftest: a corrupted {name} passed the verification")
            else:
                print(f"selftest: corrupted {name}: detected")
        # the interval multiplier: 1.645 instead of 1.96 everywhere
        bad = os.path.join(tmp, "bad.h5")
        shutil.copy(base, bad)
        with h5py.File(bad, "r+") as f:
            for g in f["runs"].values():
                for k in list(g["metrics"]):
                    if k.endswith("_ci95"):
                        v, se = g["metrics"][k[:-5]][()], g["metrics"][k[:-5] + "_se"][()]
                        g["metrics"][k][...] = [v - 1.645 * se, v + 1.645 * se]
        if not verify(bad, rid, True):
            errors.append("selftest: a 1.645 interval multiplier passed")
    finally:
        shutil.rmtree(tmp)
    return errors


if __name__ == "__main__":
    if len(sys.argv) in (5, 6) and sys.argv[1] == "summary":
        errs = summary(*sys.argv[2:])
    elif len(sys.argv) >= 4 and sys.argv[1] == "near-exact":
        errs = near_exact(sys.argv[2], sys.argv[3:])
    elif len(sys.argv) == 4 and sys.argv[1] == "selftest":
        errs = selftest(sys.argv[2], sys.argv[3])
    elif len(sys.argv) >= 2 and not sys.argv[1].startswith("-"):
        _self_test_mad()
        errs = [e for p in sys.argv[1:] for e in verify(p)]
    else:
        print(__doc__)
        sys.exit(2)
    for e in errs:
        print("FAIL", e)
    print("OK" if not errs else f"{len(errs)} problems")
    sys.exit(1 if errs else 0)
