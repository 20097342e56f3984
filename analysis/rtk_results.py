"""Reading rtkbench results files and the exact Gaussian-mixture quantities
the analysis needs (no plotting here).

Only numpy, h5py and the standard library are used, so that Debian's
/usr/bin/python3 with python3-numpy and python3-h5py runs it.

The file layout is documented in docs/format.md (format_version 1).
"""
import configparser
import math

import numpy as np

try:
    import h5py
except ImportError:  # pragma: no cover - reported by the caller
    h5py = None

# keys of the shared [time] section; a sampler section may override them
TIME_KEYS = ("T", "grid", "t_min", "delta", "times")
# sweep keys that are replicates/abscissae rather than panels
AXIS_KEYS = ("nfe", "seed")
GLOBAL_SECTIONS = ("run", "target", "metrics", "output", "time")

# two-sided 95% quantiles of Student's t (0.975 quantile) by degrees of freedom
_T975 = {1: 12.706, 2: 4.303, 3: 3.182, 4: 2.776, 5: 2.571, 6: 2.447, 7: 2.365,
         8: 2.306, 9: 2.262, 10: 2.228, 11: 2.201, 12: 2.179, 13: 2.160,
         14: 2.145, 15: 2.131, 16: 2.120, 17: 2.110, 18: 2.101, 19: 2.093,
         20: 2.086, 21: 2.080, 22: 2.074, 23: 2.069, 24: 2.064, 25: 2.060,
         26: 2.056, 27: 2.052, 28: 2.048, 29: 2.045, 30: 2.042, 40: 2.021,
         60: 2.000, 120: 1.980}


def t975(dof):
    """0.975 quantile of Student's t with `dof` degrees of freedom (table;
    between entries the next smaller tabulated dof is used: conservative)."""
    if dof < 1:
        return float("nan")
    if dof in _T975:
        return _T975[dof]
    if dof > 120:
        return 1.960
    return _T975[max(k for k in _T975 if k <= dof)]


def sval(v):
    """HDF5 string attribute/dataset (bytes) -> str."""
    if isinstance(v, bytes):
        return v.decode("utf-8", "replace")
    if isinstance(v, np.ndarray) and v.shape == ():
        return sval(v[()])
    return str(v)


def parse_ini(text):
    cp = configparser.ConfigParser(interpolation=None, strict=False,
                                   inline_comment_prefixes=(";", "#"),
                                   comment_prefixes=(";", "#"))
    cp.optionxform = str  # keep 'T' upper case
    try:
        cp.read_string(text)
    except configparser.Error:
        pass
    return cp


def parse_sweep(s):
    """'ddpm.grid=uniform run.nfe=20' -> {'ddpm.grid': 'uniform', 'run.nfe': '20'}"""
    out = {}
    for tok in s.split():
        if "=" in tok:
            k, v = tok.split("=", 1)
            out[k] = v
    return out


def classify_key(raw):
    """Classify a sweep key. Returns (kind, name):
    kind 'axis' (nfe/seed), 'panel' (shared study key, name without section)
    or 'variant' (sampler-specific option, name 'section.key')."""
    sec, _, key = raw.rpartition(".")
    if key in AXIS_KEYS:
        return "axis", key
    if sec == "" or sec in GLOBAL_SECTIONS or key in TIME_KEYS:
        return "panel", key
    return "variant", raw


def _num(s):
    try:
        v = float(s)
        return v
    except (TypeError, ValueError):
        return None


def sort_value(v):
    """sort numbers numerically, strings after them alphabetically"""
    x = _num(v)
    return (0, x, "") if x is not None else (1, 0.0, str(v))


class Run:
    """One complete run of a results file (metadata and scalar metrics)."""

    SCALARS = ("marginal_accuracy", "noise_floor", "excess_tv", "mean_tv",
               "mode_tv", "acceptance_overall", "wall_time", "nfe_per_second",
               "nfe", "marginal_accuracy_se", "mode_tv_se",
               # Fréchet distance and its measured floor (absent: nan; d > 1024,
               # metrics.frechet = false, or files from before these metrics)
               "frechet_distance", "frechet_floor", "frechet_floor_sd", "frechet_floor_se",
               "frechet_excess")

    def __init__(self, rid, g):
        a = g.attrs
        self.id = rid
        self.path = g.name
        self.sampler = sval(a.get("sampler", rid.split("-", 1)[-1]))
        self.sweep = sval(a.get("sweep", ""))
        self.sweep_d = parse_sweep(self.sweep)
        self.nfe = float(a["nfe"]) if "nfe" in a else float("nan")
        self.nfe_budget = int(a["nfe_budget"]) if "nfe_budget" in a else int(round(self.nfe))
        self.particles = int(a["particles"]) if "particles" in a else -1
        self.seed = int(a["seed"]) if "seed" in a else 0
        self.dim = int(a["dim"]) if "dim" in a else -1
        self.segments = int(a["segments"]) if "segments" in a else 0
        self.index = int(a["index"]) if "index" in a else -1
        self.cfg_text = sval(g["config"][()]) if "config" in g else ""
        self.cfg = parse_ini(self.cfg_text)
        self.is_exact = self.sampler == "exact"
        m = g["metrics"] if "metrics" in g else {}
        self.m = {}
        for k in self.SCALARS:
            self.m[k] = float(m[k][()]) if k in m else float("nan")
        for k in ("marginal_accuracy_ci95", "mode_tv_ci95"):
            if k in m and m[k].shape == (2,):
                self.m[k] = tuple(float(x) for x in m[k][:])
            else:
                self.m[k] = (float("nan"), float("nan"))
        # error bar of the FD: +- the sd of the exact-sample floor (FD noise at this N)
        fd, sd = self.m["frechet_distance"], self.m["frechet_floor_sd"]
        self.m["frechet_sd_bar"] = (fd - sd, fd + sd)
        self.frechet_sets = int(m["frechet_floor_sets"].shape[0]) if "frechet_floor_sets" in m else 0
        self.acceptance = m["acceptance"][:] if "acceptance" in m else np.zeros(0)
        # [2][6] seconds of score, rng, sampler, diagnostics, wait, io; max / mean over ranks (None: older file)
        self.time_phases = m["time_phases"][:] if "time_phases" in m else None
        # written by newer rtkbench versions (docs/format.md): [S+1] each
        self.boundary_acc = m["boundary_accuracy"][:] if "boundary_accuracy" in m else None
        self.boundary_level = m["boundary_exact_level"][:] if "boundary_exact_level" in m else None
        self.times = g["times"][:] if "times" in g else np.zeros(0)
        self.has_boundaries = "boundaries" in g
        self.has_samples = "samples" in g and g["samples"].shape[0] > 0  # output.samples = 0 stores none
        self.samples_stored = int(g["samples"].shape[0]) if "samples" in g else 0
        self.has_target = "target" in g
        # grid and the other time keys live in the sampler's section
        self.grid = "-" if self.is_exact else self.cfg_get(self.sampler, "grid", "?")
        self.panel = {}
        self.variant = {}

    def cfg_get(self, section, key, default=None):
        if self.cfg.has_option(section, key):
            return self.cfg.get(section, key).strip()
        return default

    def key_value(self, name):
        """value of a panel key for this run (from its resolved config)"""
        if name in TIME_KEYS:
            if self.is_exact:
                return "-"
            v = self.cfg_get(self.sampler, name)
            if v is None:
                v = self.cfg_get("time", name)
        else:
            v = None
            for sec in ("run", "target", "metrics", "output"):
                v = self.cfg_get(sec, name)
                if v is not None:
                    break
        if v is None:
            for raw, val in self.sweep_d.items():
                if raw.rpartition(".")[2] == name:
                    v = val
        if name == "dim" and self.dim >= 0:
            v = str(self.dim)
        return "-" if v is None else v


def load_runs(f, log=print):
    """All runs of an open results file with status 'complete', in run order,
    with .panel (dict of panel-key values) and .variant (label suffix) set.
    Returns (runs, panel_keys)."""
    runs = []
    if "runs" not in f:
        return runs, []
    for rid in sorted(f["runs"].keys()):
        g = f["runs"][rid]
        st = sval(g.attrs.get("status", "complete"))
        if st != "complete":
            log(f"run {rid} has status '{st}' (unfinished): skipped")
            continue
        runs.append(Run(rid, g))
    # which swept keys are panels and which are sampler variants
    panel_keys, variant_keys = ["grid"], []
    for r in runs:
        for raw in r.sweep_d:
            kind, name = classify_key(raw)
            if kind == "panel" and name not in panel_keys:
                panel_keys.append(name)
            elif kind == "variant" and name not in variant_keys:
                variant_keys.append(name)
    for r in runs:
        r.panel = {k: r.key_value(k) for k in panel_keys}
        parts = []
        for raw in variant_keys:
            if raw in r.sweep_d:
                sec, _, key = raw.rpartition(".")
                parts.append(f"{key}={r.sweep_d[raw]}" if sec == r.sampler else f"{raw}={r.sweep_d[raw]}")
        r.variant = " ".join(parts)
    # drop panel keys with a single value over the non-exact runs
    used = []
    for k in panel_keys:
        vals = {r.panel[k] for r in runs if not r.is_exact}
        if len(vals) > 1:
            used.append(k)
    return runs, used


def label(r):
    return r.sampler + (f" ({r.variant})" if r.variant else "")


def panel_tuple(r, keys):
    return tuple(r.panel[k] for k in keys)


def panel_matches(r, keys, ptuple):
    """exact runs (time keys '-') match every value of a time key"""
    for k, v in zip(keys, ptuple):
        rv = r.panel[k]
        if rv != v and not (r.is_exact and rv == "-"):
            return False
    return True


def panel_title(keys, ptuple):
    return ", ".join(f"{k} = {v}" for k, v in zip(keys, ptuple)) if keys else ""


# ---------------------------------------------------------------- statistics

def mean_ci(values, cis=None):
    """Mean and 95% interval of replicate values. One value: its own stored
    interval (cis[0]); several: Student-t interval across replicates."""
    v = np.asarray([x for x in values], float)
    ok = np.isfinite(v)
    if ok.sum() == 0:
        return float("nan"), float("nan"), float("nan"), 0
    v = v[ok]
    n = len(v)
    mu = float(v.mean())
    if n == 1:
        lo, hi = (cis[int(np.flatnonzero(ok)[0])] if cis else (float("nan"),) * 2)
        return mu, lo, hi, 1
    hw = t975(n - 1) * float(v.std(ddof=1)) / math.sqrt(n)
    return mu, mu - hw, mu + hw, n


# ------------------------------------------------------- exact mixture math

_erfc = np.frompyfunc(math.erfc, 1, 1)
_lgamma = np.frompyfunc(math.lgamma, 1, 1)
SQRT2 = math.sqrt(2.0)


def norm_cdf(z):
    """standard normal CDF, elementwise, via math.erfc (accurate in the tails)"""
    z = np.asarray(z, float)
    return 0.5 * _erfc(-z / SQRT2).astype(float)


def norm_pdf(z):
    return np.exp(-0.5 * np.asarray(z, float) ** 2) / math.sqrt(2 * math.pi)


class Mixture:
    """p_0 = sum_k w_k N(mu_k, diag v_k); p_t under the OU forward process."""

    def __init__(self, w, mu, var):
        self.w = np.asarray(w, float)
        self.mu = np.atleast_2d(np.asarray(mu, float))
        self.var = np.atleast_2d(np.asarray(var, float))
        self.K, self.d = self.mu.shape

    @classmethod
    def from_group(cls, g):
        return cls(g["weights"][:], g["means"][:], g["variances"][:])

    def at(self, t):
        """means [K][d] and standard deviations [K][d] of p_t"""
        a = math.exp(-t)
        s2 = -math.expm1(-2.0 * t)
        return a * self.mu, np.sqrt(a * a * self.var + s2)

    def ranges(self, t, nsd=4.0):
        m, sd = self.at(t)
        return (m - nsd * sd).min(axis=0), (m + nsd * sd).max(axis=0)

    def bin_probs(self, t, lo, hi, nbins):
        """exact probabilities [d][nbins+2] of the benchmark's bins (two tail
        bins) under p_t's coordinate marginals; same edge arithmetic as the C
        code"""
        m, sd = self.at(t)
        width = (hi - lo) / nbins
        b = np.arange(nbins + 1)
        edges = lo[:, None] + b[None, :] * width[:, None]  # [d][nb+1]
        edges[:, nbins] = hi
        z = (edges[None, :, :] - m[:, :, None]) / sd[:, :, None]  # [K][d][nb+1]
        cdf = np.einsum("k,kdb->db", self.w, norm_cdf(z))
        p = np.empty((self.d, nbins + 2))
        p[:, 0] = cdf[:, 0]
        p[:, 1:nbins + 1] = np.diff(cdf, axis=1)
        p[:, nbins + 1] = 1.0 - cdf[:, nbins]
        return p

    def sample(self, n, t=0.0, seed=0):
        rng = np.random.default_rng(seed)
        m, sd = self.at(t)
        k = rng.choice(self.K, size=n, p=self.w / self.w.sum())
        return m[k] + sd[k] * rng.standard_normal((n, self.d))

    def strip_conditional(self, x2, lo, hi, t=0.0, i=0, j=1):
        """density of x_j given x_i in (lo, hi) under p_t (diagonal mixture:
        sum_k w_k [Phi((hi-m_ik)/s_ik) - Phi((lo-m_ik)/s_ik)] N(x_j; m_jk, s_jk^2),
        normalised). Returns (density, probability of the strip)."""
        m, sd = self.at(t)
        pk = self.w * (norm_cdf((hi - m[:, i]) / sd[:, i]) - norm_cdf((lo - m[:, i]) / sd[:, i]))
        z = (np.asarray(x2, float)[:, None] - m[None, :, j]) / sd[None, :, j]
        f = (norm_pdf(z) / sd[None, :, j]) @ pk
        P = float(pk.sum())
        return (f / P if P > 0 else f * np.nan), P


class Decoder:
    """The decode map of a `mog-file` target (the `decode` group of /target or
    /runs/<id>/target): a sample x (d values) becomes the image
    clip(mean + x @ basis, value_range), reshaped row-major to (h, w). No
    basis means the identity (d = h*w, pixel space); no value_range means no
    clipping."""

    def __init__(self, mean, basis, shape, value_range):
        self.mean = np.asarray(mean, float)
        self.basis = None if basis is None else np.asarray(basis, float)
        self.shape = (int(shape[0]), int(shape[1]))
        self.value_range = value_range

    @classmethod
    def from_group(cls, tg, d):
        """(Decoder, "") for a target group with a valid decode group, else
        (None, why)"""
        if "decode" not in tg:
            return None, "the target has no decode group"
        g = tg["decode"]
        if "image_shape" not in g or g["image_shape"].shape != (2,):
            return None, "decode/image_shape is missing or not [2]"
        h, w = (int(v) for v in g["image_shape"][:])
        D = h * w
        if h < 1 or w < 1:
            return None, f"decode/image_shape = ({h}, {w})"
        mean = g["mean"][:] if "mean" in g else np.zeros(D)
        if mean.shape != (D,):
            return None, f"decode/mean has shape {mean.shape}, want ({D},)"
        basis = None
        if "basis" in g:
            basis = g["basis"][:]
            if basis.shape != (d, D):
                return None, f"decode/basis has shape {basis.shape}, want ({d}, {D})"
        elif d != D:
            return None, f"no decode/basis and d = {d} != h*w = {D}"
        vr = None
        if "value_range" in g and g["value_range"].shape == (2,):
            lo, hi = (float(v) for v in g["value_range"][:])
            if math.isfinite(lo) and math.isfinite(hi) and lo < hi:
                vr = (lo, hi)
        return cls(mean, basis, (h, w), vr), ""

    def decode(self, X):
        """images [n][h][w] of samples X [n][d] (NaN stays NaN)"""
        X = np.atleast_2d(np.asarray(X, float))
        Y = self.mean[None, :] + (X @ self.basis if self.basis is not None else X)
        if self.value_range is not None:
            Y = np.clip(Y, *self.value_range)
        return Y.reshape(X.shape[0], *self.shape)


def histogram_counts(X, lo, hi, nbins):
    """counts [d][nbins+2] with the C code's binning (NaN -> bin 0)"""
    X = np.asarray(X, float)
    N, d = X.shape
    u = (X - lo[None, :]) / (hi - lo)[None, :]
    with np.errstate(invalid="ignore"):
        b = np.where(u >= 1, nbins + 1, 0)
        inr = (u >= 0) & (u < 1)
    b = np.where(inr, np.minimum(1 + np.floor(np.where(inr, u, 0) * nbins).astype(np.int64), nbins), b)
    counts = np.zeros((d, nbins + 2), np.int64)
    for i in range(d):
        counts[i] = np.bincount(b[:, i], minlength=nbins + 2)
    return counts


def binomial_mad(n, p):
    """E|X - n p| for X ~ Binomial(n, p), elementwise (as rtk_binomial_mad)"""
    p = np.asarray(p, float)
    out = np.zeros_like(p)
    ok = (p > 0) & (p < 1)
    if not ok.any():
        return out
    pp = p[ok]
    v = np.floor(n * pp) + 1
    good = v <= n
    vv = np.where(good, v, n)
    lg = (math.lgamma(n + 1) - _lgamma(vv + 1).astype(float) - _lgamma(n - vv + 1).astype(float))
    val = 2 * vv * np.exp(lg + vv * np.log(pp) + (n - vv + 1) * np.log1p(-pp))
    out[ok] = np.where(good, val, 0.0)
    return out


def marginal_accuracy(X, mix, t, nbins=100, nsd=4.0):
    """(accuracy, expected accuracy of exact samples) of particles X against
    the exact p_t: 1 - mean_i TV_i over nbins bins + 2 tail bins per coordinate."""
    lo, hi = mix.ranges(t, nsd)
    p = mix.bin_probs(t, lo, hi, nbins)
    N = X.shape[0]
    c = histogram_counts(X, lo, hi, nbins)
    tv = 0.5 * np.abs(c / N - p).sum(axis=1)
    floor = 0.5 * (binomial_mad(N, p) / N).sum(axis=1)
    return 1.0 - float(tv.mean()), 1.0 - float(floor.mean())


# ------------------------------------------------------------ NFE threshold

def nfe_at_threshold(nfes, values, target):
    """Smallest NFE at which `values` (e.g. excess TV, decreasing in NFE)
    first falls to <= target, interpolated between the bracketing runs:
    log value linear in log NFE (a local power law, right for errors that
    fall like NFE^-p over decades) when both values are positive, else the
    value linear in log NFE (a noise-corrected value can be <= 0 near the
    floor). Returns (nfe_star, status) with status 'interp', 'at-first'
    (already met at the smallest NFE: an upper bound) or 'not reached'
    (nfe_star = nan)."""
    order = np.argsort(nfes)
    x = np.log(np.asarray(nfes, float)[order])
    y = np.asarray(values, float)[order]
    for i in range(len(x)):
        if np.isfinite(y[i]) and y[i] <= target:
            if i == 0:
                return float(np.exp(x[0])), "at-first"
            y0, y1, t = y[i - 1], y[i], target
            if y0 > 0 and y1 > 0 and t > 0:
                y0, y1, t = math.log(y0), math.log(y1), math.log(t)
            frac = (t - y0) / (y1 - y0) if y1 != y0 else 1.0
            return float(np.exp(x[i - 1] + frac * (x[i] - x[i - 1]))), "interp"
    return float("nan"), "not reached"


def loglog_fit(d, n):
    """least squares log n = a + b log d. Returns (a, b, b_lo, b_hi) with a
    95% t-interval for b (nan interval when fewer than 3 points)."""
    x = np.log(np.asarray(d, float))
    y = np.log(np.asarray(n, float))
    k = len(x)
    if k < 2 or np.ptp(x) == 0:
        return (float("nan"),) * 4
    xm, ym = x.mean(), y.mean()
    sxx = float(((x - xm) ** 2).sum())
    b = float(((x - xm) * (y - ym)).sum() / sxx)
    a = float(ym - b * xm)
    if k < 3:
        return a, b, float("nan"), float("nan")
    res = y - (a + b * x)
    s2 = float((res ** 2).sum()) / (k - 2)
    se = math.sqrt(s2 / sxx)
    hw = t975(k - 2) * se
    return a, b, b - hw, b + hw


def check_erfc():
    """self-check of the CDF helper against math.erf"""
    z = np.linspace(-8, 8, 161)
    ref = np.array([0.5 * (1 + math.erf(v / SQRT2)) for v in z])
    return float(np.max(np.abs(norm_cdf(z) - ref)))


