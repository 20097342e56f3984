#!/usr/bin/python3
"""Turn an rtkbench results file into tables and figures.

usage: /usr/bin/python3 analysis/rtk_analyze.py RESULTS.h5 [-o OUTDIR]
       [--scaling-metric auto] [--scaling-target X] [--grid NAME] [--strip LO HI] [--points N]
       [--images N]

Writes into OUTDIR (default: <results stem>_figures/ next to the file):
  summary.csv, summary.md        one row per run, headline metrics
  accuracy_vs_nfe.png            marginal accuracy vs NFE, one panel per grid
  mode_tv_vs_nfe.png             mode-weight TV vs NFE
  acceptance.png                 per-segment MALA acceptance
  boundary_accuracy.png          accuracy at every grid time vs the exact p_t
  hist_x2.png                    x2 | x1 in (0.75, 1.25) vs the exact density
  clusters.png                   first two coordinates vs ground truth
  images.png                     decoded sample images per sampler x NFE (targets with a decode basis)
  frechet_vs_nfe.png             Frechet distance vs NFE with its exact-sample floor
  scaling.png, scaling.md        NFE to reach a target of the scaling criterion vs dimension
  score_*.png, score_table.md    studies with non-exact scores (rtk_scores.py): accuracy vs NFE per
                                 score model, plateau vs score.error with fitted slope, measured score error
A figure whose inputs are missing from the file is skipped with a note.
Needs only Debian's python3-numpy, python3-h5py and python3-matplotlib.
See analysis/README.md.
"""
import argparse
import csv
import math
import os
import sys
import warnings

import numpy as np

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import rtk_results as R  # noqa: E402
import rtk_scores  # noqa: E402

try:
    import h5py
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import matplotlib.ticker
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch
except ImportError as e:  # pragma: no cover
    sys.exit(f"rtk_analyze: needs numpy, h5py and matplotlib (Debian python3-*): {e}")

DPI = 120
plt.rcParams.update({"font.size": 10, "axes.titlesize": 11, "axes.labelsize": 10,
                     "legend.fontsize": 9, "figure.titlesize": 12})
MALA_SAMPLERS = ("rtk-mala", "rtk-mala-score")
THEORY = {"rtk-uld": "0.5", "rtk-mala": "2 (× log d)", "ddpm": "1"}
MARKERS = "osD^v<>phX*"


def note(msg):
    print(f"note: {msg}")


def fnum(x, nd=4):
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "—"
    return f"{x:.{nd}f}"


class Study:
    def __init__(self, path, f):
        self.path = path
        self.f = f
        self.runs, self.pkeys = R.load_runs(f, log=note)
        # samplers in order of first appearance (= run.samplers order)
        self.sampler_order = []
        for r in self.runs:
            if r.sampler not in self.sampler_order:
                self.sampler_order.append(r.sampler)
        self.labels = []
        for r in self.runs:
            lb = R.label(r)
            if lb not in self.labels:
                self.labels.append(lb)
        # sampler colours: tab10 without its grey (grey is the exact reference)
        pal = [plt.get_cmap("tab10")(k) for k in (0, 1, 2, 3, 4, 5, 6, 8, 9)]
        if sum(not lb.startswith("exact") for lb in self.labels) > len(pal):
            pal = [plt.get_cmap("tab20")(k) for k in range(20) if k not in (14, 15)]
        self.color, self.marker = {}, {}
        i = 0
        for lb in self.labels:
            if lb.startswith("exact"):
                self.color[lb], self.marker[lb] = "0.25", "s"
                continue
            self.color[lb] = pal[i % len(pal)]
            self.marker[lb] = MARKERS[i % len(MARKERS)]
            i += 1
        grids = {r.grid for r in self.runs if not r.is_exact}
        self.common_title = f"grid = {grids.pop()}" if len(grids) == 1 else "all runs"
        self.stem = os.path.splitext(os.path.basename(path))[0]
        r0 = self.runs[0] if self.runs else None
        self.kind = R.sval(f["target"].attrs.get("kind", "?")) if "target" in f else "?"
        dims = sorted({r.dim for r in self.runs})
        ns = sorted({r.particles for r in self.runs})
        self.desc = (f"{self.kind}, d = {','.join(map(str, dims))}, "
                     f"N = {','.join(f'{n:,}' for n in ns)}") if r0 else ""

    # panels: one per value combination of the panel keys (grid, ...)
    def panels(self, runs=None):
        runs = self.runs if runs is None else runs
        ps = {R.panel_tuple(r, self.pkeys) for r in runs if not r.is_exact}
        return sorted(ps, key=lambda p: [R.sort_value(v) for v in p])

    def showcase_panel(self, prefer_grid=None):
        ps = self.panels()
        if not ps:
            return None
        if "grid" in self.pkeys:
            gi = self.pkeys.index("grid")
            for want in ([prefer_grid] if prefer_grid else []) + ["geometric"]:
                for p in ps:
                    if p[gi] == want:
                        return p
        return ps[0]

    def target(self, r):
        g = self.f[r.path]
        if "target" in g:
            return R.Mixture.from_group(g["target"])
        return R.Mixture.from_group(self.f["target"])

    def series(self, runs, metric, ci):
        """per label: list of (nfe, mean, lo, hi, n) over nfe budgets, seeds
        averaged (t-interval) when several"""
        out = {}
        groups = {}
        for r in runs:
            if r.is_exact or not (r.nfe > 0):
                continue
            groups.setdefault((R.label(r), r.nfe_budget), []).append(r)
        for (lb, _), rs in groups.items():
            mu, lo, hi, n = R.mean_ci([r.m[metric] for r in rs], [r.m[ci] for r in rs] if ci else None)
            x = float(np.mean([r.nfe for r in rs]))
            out.setdefault(lb, []).append((x, mu, lo, hi, n))
        for lb in out:
            out[lb].sort()
        return out

    def largest_nfe_runs(self, ptuple, need=None, near=None):
        """per label, the run with the largest NFE in a panel (first seed), or
        with the NFE budget nearest to `near` (log scale); in label order"""
        def score(r):
            if near:
                return (-abs(math.log(max(r.nfe_budget, 1) / near)), r.nfe, -r.seed)
            return (0, r.nfe, -r.seed)
        best = {}
        for r in self.runs:
            if not R.panel_matches(r, self.pkeys, ptuple):
                continue
            if need and not need(r):
                continue
            lb = R.label(r)
            if lb not in best or score(r) > score(best[lb]):
                best[lb] = r
        return [best[lb] for lb in self.labels if lb in best]


def subplots(n, ncols_max=3, w=5.0, h=3.9, sharey=True, sharex=False):
    ncols = min(n, ncols_max)
    nrows = (n + ncols - 1) // ncols
    fig, axes = plt.subplots(nrows, ncols, figsize=(w * ncols, h * nrows),
                             squeeze=False, sharey=sharey, sharex=sharex)
    for ax in axes.flat[n:]:
        ax.set_visible(False)
    return fig, axes.flat[:n]


def finish(fig, path, handles=None, labels=None, ncol=1, title=None, right=None):
    """tight layout, optional shared legend to the right of the panels, save
    (bbox_inches='tight' grows the canvas so the legend is never cut)"""
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    if handles:
        fig.legend(handles, labels, loc="center left", bbox_to_anchor=(1.0, 0.5),
                   frameon=False, ncol=ncol)
    fig.savefig(path, dpi=DPI, bbox_inches="tight", pad_inches=0.15)
    plt.close(fig)
    return path


def nfe_axis(ax, values):
    """log NFE axis with plain-number ticks at the NFE values present"""
    ax.set_xscale("log")
    v = sorted({float(x) for x in values if x > 0})
    if not v:
        return
    if len(v) > 8:
        v = [x for x in v if abs(math.log10(x) - round(math.log10(x))) < 1e-9 or
             str(int(x))[0] in "125"] or v
    ax.set_xticks(v)
    ax.set_xticklabels([f"{x:g}" for x in v])
    ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
    lo, hi = min(v), max(v)
    ax.set_xlim(lo / 1.25, hi * 1.25)


# ---------------------------------------------------------------- summary

SUMMARY_COLS = ["id", "sampler", "sweep", "grid", "seed", "dim", "nfe", "nfe_budget", "particles",
                "marginal_accuracy", "marginal_accuracy_ci95_lo", "marginal_accuracy_ci95_hi",
                "noise_floor_accuracy", "excess_tv", "mode_tv", "mode_tv_ci95_lo", "mode_tv_ci95_hi",
                "acceptance_overall", "wall_time", "nfe_per_second"]
# appended when some run stores the Fréchet distance (metrics/frechet_*)
FRECHET_COLS = ["frechet_distance", "frechet_floor", "frechet_floor_sd", "frechet_floor_se", "frechet_excess"]


def has_frechet(st):
    return any(math.isfinite(r.m["frechet_distance"]) for r in st.runs)


def fsig(x, nd=4):
    """nd significant digits (the Fréchet distance spans many decades)"""
    if x is None or not math.isfinite(x):
        return "—"
    return f"{x:.{nd}g}"


def sorted_runs(st):
    extra = [k for k in st.pkeys if k != "grid"]

    def key(r):
        return (st.sampler_order.index(r.sampler), r.variant, r.grid,
                [R.sort_value(r.panel[k]) for k in extra], r.nfe, r.seed, r.id)
    return sorted(st.runs, key=key)


def write_summary(st, outdir):
    rows = []
    for r in sorted_runs(st):
        m = r.m
        rows.append({
            "id": r.id, "sampler": r.sampler, "sweep": r.sweep, "grid": r.grid,
            "seed": r.seed, "dim": r.dim, "nfe": r.nfe, "nfe_budget": r.nfe_budget,
            "particles": r.particles,
            "marginal_accuracy": m["marginal_accuracy"],
            "marginal_accuracy_ci95_lo": m["marginal_accuracy_ci95"][0],
            "marginal_accuracy_ci95_hi": m["marginal_accuracy_ci95"][1],
            "noise_floor_accuracy": 1.0 - m["noise_floor"],
            "excess_tv": m["excess_tv"], "mode_tv": m["mode_tv"],
            "mode_tv_ci95_lo": m["mode_tv_ci95"][0], "mode_tv_ci95_hi": m["mode_tv_ci95"][1],
            "acceptance_overall": m["acceptance_overall"],
            "wall_time": m["wall_time"], "nfe_per_second": m["nfe_per_second"]})
        rows[-1].update({k: m[k] for k in FRECHET_COLS})
    fd = has_frechet(st)
    if not fd:
        note("summary: no run stores metrics/frechet_distance (older file, d > 1024 or "
             "metrics.frechet = false): no Fréchet columns")
    p_csv = os.path.join(outdir, "summary.csv")
    with open(p_csv, "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=SUMMARY_COLS + (FRECHET_COLS if fd else []), extrasaction="ignore")
        w.writeheader()
        for row in rows:  # floats in full precision (repr), nan as 'nan'
            w.writerow({k: (repr(v) if isinstance(v, float) else v) for k, v in row.items()})
    if any(not math.isfinite(r.m["marginal_accuracy_ci95"][0]) for r in st.runs):
        note("some runs lack metrics/marginal_accuracy_ci95 (older file?): CI left empty")

    p_md = os.path.join(outdir, "summary.md")
    hdr = ["id", "sampler", "sweep", "grid", "NFE", "N", "accuracy", "95% CI", "floor",
           "excess TV", "mode TV", "mode TV 95% CI"] + (["FD", "FD floor ± sd"] if fd else []) + \
          ["accept", "wall [s]", "NFE/s"]
    with open(p_md, "w") as fh:
        fh.write(f"# rtkbench summary: `{os.path.basename(st.path)}`\n\n")
        fh.write(f"{len(rows)} runs; target {st.desc}. accuracy = marginal accuracy "
                 "(1 − mean coordinate TV); floor = 1 − noise_floor (expected accuracy of "
                 "exact samples of the same size); excess TV = mean TV − noise floor; "
                 "wall time = sampling kernel only." +
                 (" FD = Fréchet distance of the samples' mean and covariance to the exact ones of "
                  "p_δ; FD floor = mean ± sd of the FD of independent exact sample sets of the same "
                  "size (metrics/frechet_floor, frechet_floor_sd; `metrics.frechet_sets` sets), the "
                  "level an exact sampler reaches." if fd else "") + "\n\n")
        fh.write("| " + " | ".join(hdr) + " |\n")
        fh.write("|" + "|".join("---" if i < 4 else "---:" for i in range(len(hdr))) + "|\n")
        for row in rows:
            ci = (row["marginal_accuracy_ci95_lo"], row["marginal_accuracy_ci95_hi"])
            mci = (row["mode_tv_ci95_lo"], row["mode_tv_ci95_hi"])
            nps = row["nfe_per_second"]
            cells = [row["id"], row["sampler"], (row["sweep"] or "—").replace("|", "/"), row["grid"],
                     f"{row['nfe']:g}", f"{row['particles']:,}",
                     fnum(row["marginal_accuracy"]),
                     f"{fnum(ci[0])} – {fnum(ci[1])}" if math.isfinite(ci[0]) else "—",
                     fnum(row["noise_floor_accuracy"]), f"{row['excess_tv']:+.4f}",
                     fnum(row["mode_tv"]),
                     f"{fnum(mci[0])} – {fnum(mci[1])}" if math.isfinite(mci[0]) else "—"]
            if fd:
                cells += [fsig(row["frechet_distance"]),
                          fsig(row["frechet_floor"]) +
                          (f" ± {fsig(row['frechet_floor_sd'], 2)}" if math.isfinite(row["frechet_floor_sd"]) else "")]
            cells += [fnum(row["acceptance_overall"]), fnum(row["wall_time"]),
                     f"{nps:.3g}" if nps > 0 else "—"]
            fh.write("| " + " | ".join(str(c) for c in cells) + " |\n")
    return [p_csv, p_md]


# ------------------------------------------------------- metric vs NFE

def exact_reference(st, ptuple, metric, ci):
    ex = [r for r in st.runs if r.is_exact and R.panel_matches(r, st.pkeys, ptuple)]
    if not ex:
        return None
    return R.mean_ci([r.m[metric] for r in ex], [r.m[ci] for r in ex])


def fig_vs_nfe(st, outdir, metric, ci, fname, ylabel, title, logy=False, floor=False, zoom=False):
    """metric vs NFE, one panel per panel-key combination. With zoom=True and
    runs far below the exact level, each panel gets a second axis (below it)
    zoomed on the exact level, where the best samplers differ."""
    panels = st.panels()
    if not any(r.nfe > 0 for r in st.runs):
        note(f"{fname}: no run with NFE > 0: skipped")
        return []
    budgets = [r.nfe_budget if r.nfe_budget > 0 else r.nfe for r in st.runs if not r.is_exact]
    info = []
    for p in panels:
        runs = [r for r in st.runs if R.panel_matches(r, st.pkeys, p)]
        ref = exact_reference(st, p, metric, ci)
        fl = [1 - r.m["noise_floor"] for r in runs if math.isfinite(r.m["noise_floor"])]
        info.append((p, runs, st.series(runs, metric, ci), ref, float(np.mean(fl)) if fl else float("nan")))
    zlim = None
    if zoom:
        levels = [x[3][0] for x in info if x[3] is not None] + [x[4] for x in info]
        levels = [v for v in levels if math.isfinite(v)]
        vals = [pt[1] for x in info for ser in x[2].values() for pt in ser]
        if levels and vals:
            top = max(levels)
            gap = max(0.02, 1.5 * (1 - top))  # show about this much below the exact level
            lo = top - gap
            hi_pts = [pt[3] if math.isfinite(pt[3]) else pt[1] for x in info for ser in x[2].values() for pt in ser]
            hi = max([top + 0.25 * (1 - top)] + [v for v in hi_pts if v <= 1])
            if min(vals) < top - 2 * gap:  # the full scale hides the differences near the top
                zlim = (lo, hi + 0.1 * (hi - lo))
    n = len(panels)
    ncols = min(n, 3)
    nprow = (n + ncols - 1) // ncols
    rows_per = 2 if zlim else 1
    hr = ([1.0, 0.8] if zlim else [1.0]) * nprow
    fig, axs = plt.subplots(nprow * rows_per, ncols, figsize=(5.0 * ncols, sum(hr) * 3.9),
                            squeeze=False, gridspec_kw={"height_ratios": hr})
    for ax in axs.flat:
        ax.set_visible(False)
    handles = {}
    for i, (p, runs, ser, ref, fl) in enumerate(info):
        r0, c0 = divmod(i, ncols)
        in_zoom = zlim and any(zlim[0] <= pt[1] <= zlim[1] for sr in ser.values() for pt in sr)
        targets = [(axs[r0 * rows_per][c0], False)] + ([(axs[r0 * rows_per + 1][c0], True)] if in_zoom else [])
        for ax, is_zoom in targets:
            ax.set_visible(True)
            if ref is not None and math.isfinite(ref[0]):
                mu, lo, hi, nrep = ref
                if math.isfinite(lo):
                    ax.axhspan(lo, hi, color="0.6", alpha=0.35, lw=0)
                ax.axhline(mu, color="0.3", lw=1.2)
                handles["exact"] = (Patch(facecolor="0.6", alpha=0.5, edgecolor="0.3"),
                                    "exact samples (95% CI)" if nrep == 1 else f"exact samples ({nrep} seeds, 95% CI)")
            if (floor or (ref is None and metric == "marginal_accuracy")) and math.isfinite(fl):
                ax.axhline(fl, color="k", ls=":", lw=1.2)
                handles["floor"] = (Line2D([], [], color="k", ls=":"),
                                    "1 − noise floor (expected, exact samples)")
            for lb in st.labels:
                if lb not in ser:
                    continue
                a = np.array(ser[lb], float)
                c = st.color[lb]
                ax.plot(a[:, 0], a[:, 1], marker=st.marker[lb], color=c, lw=1.6, ms=5)
                ok = np.isfinite(a[:, 2])
                if ok.any():
                    ax.fill_between(a[ok, 0], a[ok, 2], a[ok, 3], color=c, alpha=0.2, lw=0)
                    ax.errorbar(a[ok, 0], a[ok, 1], yerr=[a[ok, 1] - a[ok, 2], a[ok, 3] - a[ok, 1]],
                                fmt="none", ecolor=c, elinewidth=1, capsize=2.5)
                handles.setdefault(lb, (Line2D([], [], color=c, marker=st.marker[lb], lw=1.6), lb))
            nfe_axis(ax, budgets)
            if logy:
                ax.set_yscale("log")
            ax.set_xlabel("NFE per particle (score evaluations)")
            pt = R.panel_title(st.pkeys, p) or st.common_title
            ax.set_title(f"{pt} — zoom on the exact level" if is_zoom else pt)
            ax.grid(True, which="major", alpha=0.35)
            ax.grid(True, which="minor", alpha=0.12)
            if c0 == 0:
                ax.set_ylabel(ylabel)
            if is_zoom:
                ax.set_ylim(*zlim)
    # common y range over the full-scale panels
    full = [axs[r * rows_per][c] for r in range(nprow) for c in range(ncols) if axs[r * rows_per][c].get_visible()]
    ylo = min(ax.get_ylim()[0] for ax in full)
    yhi = max(ax.get_ylim()[1] for ax in full)
    for ax in full:
        ax.set_ylim(ylo, yhi)
    order = [k for k in handles if k not in ("exact", "floor")] + [k for k in ("exact", "floor") if k in handles]
    hs = [handles[k][0] for k in order]
    ls = [handles[k][1] for k in order]
    seeds = len({r.seed for r in st.runs})
    band = (f"bands: 95% t-interval over {seeds} seeds" if seeds > 1 else "bands: 95% CI of each run")
    return [finish(fig, os.path.join(outdir, fname), hs, ls,
                   title=f"{title} — {st.stem} ({st.desc}; {band})")]


# ------------------------------------------------------------ acceptance

def fig_acceptance(st, outdir):
    mala = [r for r in st.runs if r.sampler in MALA_SAMPLERS and r.acceptance.size
            and np.isfinite(r.acceptance).any()]
    if not mala:
        note("acceptance.png: no rtk-mala / rtk-mala-score run with acceptance: skipped")
        return []
    labels = [lb for lb in st.labels if any(R.label(r) == lb for r in mala)]
    panels = sorted({R.panel_tuple(r, st.pkeys) for r in mala}, key=lambda p: [R.sort_value(v) for v in p])
    budgets = sorted({r.nfe_budget for r in mala})
    cmap = plt.get_cmap("viridis")
    col = {b: cmap(0.9 * i / max(1, len(budgets) - 1)) for i, b in enumerate(budgets)}
    nr, nc = len(labels), len(panels)
    fig, axes = plt.subplots(nr, nc, figsize=(5.2 * nc, 3.3 * nr + 0.4), squeeze=False,
                             sharey=True)
    for i, lb in enumerate(labels):
        for j, p in enumerate(panels):
            ax = axes[i][j]
            rs = [r for r in mala if R.label(r) == lb and R.panel_tuple(r, st.pkeys) == p]
            ticks = None
            for b in budgets:
                g = [r for r in rs if r.nfe_budget == b]
                if not g:
                    continue
                S = min(r.acceptance.size for r in g)
                with warnings.catch_warnings():  # a segment with no proposals (tiny budgets) stays NaN
                    warnings.simplefilter("ignore", RuntimeWarning)
                    acc = np.nanmean(np.array([r.acceptance[:S] for r in g]), axis=0)
                ax.plot(np.arange(1, S + 1), acc, marker="o", ms=4, color=col[b], lw=1.5)
                t = g[0].times
                if S <= 8 and t.size == S + 1:
                    ticks = [f"{k + 1}\n{t[k]:.2g}–{t[k + 1]:.2g}" for k in range(S)]
            if ticks:
                ax.set_xticks(np.arange(1, len(ticks) + 1))
                ax.set_xticklabels(ticks, fontsize=8)
            ax.set_ylim(0, 1.03)
            ax.grid(True, alpha=0.35)
            ax.set_title(f"{lb} — {R.panel_title(st.pkeys, p) or st.common_title}")
            if not rs:
                ax.text(0.5, 0.5, "no runs", ha="center", va="center", transform=ax.transAxes)
            if j == 0:
                ax.set_ylabel("MALA acceptance rate")
            if i == nr - 1:
                ax.set_xlabel("RTK segment (number, then its time interval; T → 0)" if ticks else "RTK segment (from t = T to 0)")
    hs = [Line2D([], [], color=col[b], marker="o", lw=1.5) for b in budgets]
    ls = [f"NFE budget {b}" for b in budgets]
    return [finish(fig, os.path.join(outdir, "acceptance.png"), hs, ls,
                   title=f"Per-segment MALA acceptance — {st.stem}")]


# ------------------------------------------------------------ time split

PHASES = ["score", "rng", "sampler", "diagnostics", "wait", "io"]
PHASE_COLORS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#d62728", "#7f7f7f"]


def fig_time_split(st, outdir):
    """where each run's time went (metrics/time_phases): stacked bars of the
    mean over ranks in seconds, and the same as shares of the run's time"""
    runs = [r for r in sorted_runs(st) if r.time_phases is not None]
    if not runs:
        note("time_split.png: no run stores metrics/time_phases (older file): skipped")
        return []
    n = len(runs)
    fig, axes = plt.subplots(1, 2, figsize=(13, 1.4 + 0.32 * n), squeeze=False)
    ax, ax2 = axes[0]
    y = np.arange(n)[::-1]
    labels = [f"{r.id}  {r.sweep}"[:48] if r.sweep else r.id for r in runs]
    mean = np.array([np.nan_to_num(r.time_phases[1], nan=0.0) for r in runs])
    mx = np.array([r.time_phases[0] for r in runs])
    tot = mean.sum(axis=1)
    share = mean / np.where(tot > 0, tot, 1)[:, None]
    left, left2 = np.zeros(n), np.zeros(n)
    for p, (name, c) in enumerate(zip(PHASES, PHASE_COLORS)):
        ax.barh(y, mean[:, p], left=left, color=c, height=0.7, label=name)
        ax2.barh(y, 100 * share[:, p], left=left2, color=c, height=0.7)
        left += mean[:, p]
        left2 += 100 * share[:, p]
    ax.plot(np.nansum(mx[:, :], axis=1), y, "k|", ms=12, label="sum of the max over ranks")
    ax.set_yticks(y)
    ax.set_yticklabels(labels, fontsize=8)
    ax.set_xlabel("seconds (mean over ranks)")
    ax.grid(True, axis="x", alpha=0.35)
    ax2.set_yticks(y)
    ax2.set_yticklabels([])
    ax2.set_xlim(0, 100)
    ax2.set_xlabel("share of the run's time [%]")
    ax2.grid(True, axis="x", alpha=0.35)
    for yi, sh in zip(y, share):
        if sh[0] > 0.06:
            ax2.text(100 * sh[0] / 2, yi, f"{100 * sh[0]:.0f}%", ha="center", va="center", fontsize=7, color="w")
    if all(not np.isfinite(r.time_phases[1][0]) for r in runs):
        ax2.set_title("score and rng not timed (RTK_TIMERS=0): inside 'sampler'", fontsize=9)
    hs, ls = ax.get_legend_handles_labels()
    return [finish(fig, os.path.join(outdir, "time_split.png"), hs, ls, ncol=1,
                   title=f"Where the time went (metrics/time_phases) — {st.stem}", right=0.86)]


# ------------------------------------------------------ boundary accuracy

def plane_indices(times, max_points=80):
    S1 = times.size
    if S1 <= max_points:
        return np.arange(S1)
    pos = np.flatnonzero(times > 0)
    lt = np.log(times[pos])
    targets = np.linspace(lt.max(), lt.min(), max_points - 1)
    idx = {int(pos[np.argmin(np.abs(lt - x))]) for x in targets}
    idx |= {0, S1 - 1}
    return np.array(sorted(idx))


def boundary_ok(r):
    return not r.is_exact and r.times.size > 1 and (r.has_boundaries or r.boundary_acc is not None)


def fig_boundaries(st, outdir):
    """accuracy against the exact p_t at each grid time: computed here from
    /runs/<id>/boundaries; for runs without boundaries, the C code's
    metrics/boundary_accuracy is used where the file has it (and where both
    exist they are cross-checked)"""
    have = [r for r in st.runs if boundary_ok(r)]
    if not have:
        note("boundary_accuracy.png: no run stored /runs/<id>/boundaries "
             "(run with --set output.boundaries=true) or metrics/boundary_accuracy: skipped")
        return []
    panels = sorted({R.panel_tuple(r, st.pkeys) for r in have}, key=lambda p: [R.sort_value(v) for v in p])
    fig, axes = subplots(len(panels), sharey=True)
    handles = {}
    for ax, p in zip(axes, panels):
        sel = st.largest_nfe_runs(p, need=boundary_ok)
        tmin = min(float(r.times[r.times > 0].min()) for r in sel)
        dense = max(sel, key=lambda r: r.times.size)
        for r in sel:
            g = st.f[r.path]
            mix = st.target(r)
            nb = int(float(r.cfg_get("metrics", "bins", "100")))
            nsd = float(r.cfg_get("metrics", "range_sd", "4"))
            if r.has_boundaries:
                idx = plane_indices(r.times)
                acc = np.empty(idx.size)
                B = g["boundaries"]
                for j, k in enumerate(idx):
                    acc[j] = R.marginal_accuracy(B[k], mix, float(r.times[k]), nb, nsd)[0]
                if abs(acc[-1] - r.m["marginal_accuracy"]) > 1e-9:
                    note(f"{r.id}: accuracy of the last boundary plane {acc[-1]:.6f} differs from "
                         f"metrics/marginal_accuracy {r.m['marginal_accuracy']:.6f}")
                if r.boundary_acc is not None and r.boundary_acc.size == r.times.size:
                    dev = float(np.nanmax(np.abs(r.boundary_acc[idx] - acc)))
                    if dev > 1e-9:
                        note(f"{r.id}: metrics/boundary_accuracy differs from the Python value by {dev:.2e}")
            else:
                idx = plane_indices(r.times)
                acc = np.asarray(r.boundary_acc, float)[idx]
            lb = R.label(r)
            ax.plot(r.times[idx], acc, color=st.color[lb], marker=st.marker[lb],
                    ms=3.5 if idx.size > 20 else 5, lw=1.5)
            handles.setdefault(lb, (Line2D([], [], color=st.color[lb], marker=st.marker[lb], lw=1.5), set()))
            handles[lb][1].add(r.nfe)
        # expected accuracy of N exact samples at each time
        r = dense
        if r.boundary_level is not None and r.boundary_level.size == r.times.size:
            idx = plane_indices(r.times)
            fl = r.boundary_level[idx]
        else:
            mix = st.target(r)
            nb = int(float(r.cfg_get("metrics", "bins", "100")))
            nsd = float(r.cfg_get("metrics", "range_sd", "4"))
            idx = plane_indices(r.times)
            fl = []
            for k in idx:
                t = float(r.times[k])
                lo, hi = mix.ranges(t, nsd)
                pb = mix.bin_probs(t, lo, hi, nb)
                fl.append(1 - float((0.5 * R.binomial_mad(r.particles, pb) / r.particles).sum(axis=1).mean()))
        ax.plot(r.times[idx], fl, color="k", ls=":", lw=1.2)
        handles["floor"] = (Line2D([], [], color="k", ls=":"),
                            f"1 − noise floor (exact samples, N = {r.particles:,})")
        Tmax = max(float(r.times[0]) for r in sel)
        ax.set_xscale("symlog", linthresh=tmin, linscale=0.8)
        ax.set_xlim(Tmax * 1.15, 0)
        dec = [10.0 ** e for e in range(math.ceil(math.log10(tmin) - 1e-9), math.floor(math.log10(Tmax)) + 1)]
        if not dec or Tmax / dec[-1] > 2.5:
            dec.append(Tmax)
        ax.set_xticks([0.0] + dec)
        ax.set_xticklabels(["0"] + [f"{x:g}" for x in dec])
        ax.xaxis.set_minor_locator(matplotlib.ticker.NullLocator())
        ax.set_xlabel(f"diffusion time t (reversed log scale, linear below {tmin:.2g}; T → 0)")
        ax.set_title(R.panel_title(st.pkeys, p) or st.common_title)
        ax.grid(True, alpha=0.35)
    for ax in axes:
        if ax.get_subplotspec().is_first_col():
            ax.set_ylabel("marginal accuracy vs exact p_t")
        ax.yaxis.set_tick_params(labelleft=True)
    keys = [k for k in handles if k != "floor"] + ["floor"]
    for k in keys[:-1]:
        h, nf = handles[k]
        handles[k] = (h, f"{k} (NFE {', '.join(f'{x:.4g}' for x in sorted(nf))})")
    return [finish(fig, os.path.join(outdir, "boundary_accuracy.png"),
                   [handles[k][0] for k in keys], [handles[k][1] for k in keys],
                   title=f"Accuracy against the exact p_t at every grid time, largest NFE of each sampler — {st.stem}")]


# ---------------------------------------------------- histogram / clusters

def showcase(st, args, fname):
    """the panel and runs that hist_x2/clusters show; ([]) with a note when
    no run has samples or d < 2"""
    p = st.showcase_panel(args.grid)
    sel = [] if p is None else st.largest_nfe_runs(p, need=lambda r: r.has_samples, near=args.nfe)
    if not sel:
        note(f"{fname}: no runs with samples: skipped")
        return p, []
    if min(r.dim for r in sel) < 2:
        note(f"{fname}: needs d >= 2: skipped")
        return p, []
    return p, sel


def which_nfe(args):
    return f"NFE nearest {args.nfe:g}" if args.nfe else "largest NFE"


def fig_hist_x2(st, outdir, args):
    p, sel = showcase(st, args, "hist_x2.png")
    if not sel:
        return []
    lo_s, hi_s = args.strip
    fig, axes = subplots(len(sel), ncols_max=4, w=3.6, h=3.0, sharey=True, sharex=True)
    ymax = 0
    for ax, r in zip(axes, sel):
        mix = st.target(r)
        delta = float(r.times[-1]) if r.times.size else 0.0
        m, sd = mix.at(delta)
        pk = mix.w * (R.norm_cdf((hi_s - m[:, 0]) / sd[:, 0]) - R.norm_cdf((lo_s - m[:, 0]) / sd[:, 0]))
        rel = pk > 1e-4 * pk.max() if pk.max() > 0 else np.ones(mix.K, bool)
        xlo = float((m[rel, 1] - 4 * sd[rel, 1]).min())
        xhi = float((m[rel, 1] + 4 * sd[rel, 1]).max())
        X = st.f[r.path]["samples"][:, :2]
        x2 = X[(X[:, 0] > lo_s) & (X[:, 0] < hi_s), 1]
        n = x2.size
        nb = 100 if n >= 5000 else 60 if n >= 1000 else 30
        if n:
            # density-normalised within the strip: mass outside the range still counts
            h, e = np.histogram(x2, bins=nb, range=(xlo, xhi))
            dens = h / (n * np.diff(e))
            ax.stairs(dens, e, fill=True, color=st.color[R.label(r)], alpha=0.55)
            ymax = max(ymax, float(dens.max()))
        xs = np.linspace(xlo, xhi, 600)
        f, P = mix.strip_conditional(xs, lo_s, hi_s, delta)
        ax.plot(xs, f, color="k", lw=1.3)
        ymax = max(ymax, float(np.nanmax(f)))
        nfe = "" if r.is_exact else f", NFE {r.nfe:.4g}"
        ax.set_title(f"{R.label(r)}{nfe}\n{n:,} of {r.particles:,} in strip (exact {P:.1%})", fontsize=9.5)
        ax.grid(True, alpha=0.3)
    for ax in axes:
        ax.set_ylim(0, ymax * 1.08)
        ax.xaxis.set_tick_params(labelbottom=True)
        ax.yaxis.set_tick_params(labelleft=True)
        ax.set_xlabel("x₂")
        if ax.get_subplotspec().is_first_col():
            ax.set_ylabel(f"density of x₂ | x₁ ∈ ({lo_s:g}, {hi_s:g})")
    hs = [Patch(facecolor="0.5", alpha=0.55), Line2D([], [], color="k", lw=1.3)]
    ls = ["samples (histogram)", "exact conditional density"]
    pt = R.panel_title(st.pkeys, p)
    return [finish(fig, os.path.join(outdir, "hist_x2.png"), hs, ls,
                   title=f"x₂ given x₁ ∈ ({lo_s:g}, {hi_s:g}), {which_nfe(args)} per sampler"
                         f"{' — ' + pt if pt else ''} — {st.stem}")]


def fig_clusters(st, outdir, args):
    p, sel = showcase(st, args, "clusters.png")
    if not sel:
        return []
    rng = np.random.default_rng(0)
    panels = []
    if not any(r.is_exact for r in sel):
        mix = st.target(sel[0])
        delta = float(sel[0].times[-1]) if sel[0].times.size else 0.0
        panels.append(("ground truth (numpy draw from the target)", mix.sample(args.points, delta, seed=0)[:, :2],
                       "0.25", mix, delta))
    for r in sel:
        X = st.f[r.path]["samples"]
        N = X.shape[0]
        if N > args.points:
            ids = np.sort(rng.choice(N, args.points, replace=False))
            Y = X[:, :2][ids]
        else:
            Y = X[:, :2]
        nfe = " (ground truth)" if r.is_exact else f", NFE {r.nfe:.4g}"
        panels.append((f"{R.label(r)}{nfe}", Y, st.color[R.label(r)], st.target(r),
                       float(r.times[-1]) if r.times.size else 0.0))
    mix0, d0 = panels[0][3], panels[0][4]
    lo, hi = mix0.ranges(d0, 4.0)
    xl = (lo[0] - 0.1 * (hi[0] - lo[0]), hi[0] + 0.1 * (hi[0] - lo[0]))
    yl = (lo[1] - 0.1 * (hi[1] - lo[1]), hi[1] + 0.1 * (hi[1] - lo[1]))
    fig, axes = subplots(len(panels), ncols_max=4, w=3.3, h=3.4, sharey=True, sharex=True)
    for ax, (ttl, Y, c, mix, delta) in zip(axes, panels):
        ax.scatter(Y[:, 0], Y[:, 1], s=2.5, alpha=0.45, color=c, lw=0, rasterized=True)
        m, _ = mix.at(delta)
        ax.scatter(m[:, 0], m[:, 1], s=16, marker="+", color="k", lw=0.8, alpha=0.8)
        out = int(((Y[:, 0] < xl[0]) | (Y[:, 0] > xl[1]) | (Y[:, 1] < yl[0]) | (Y[:, 1] > yl[1])).sum())
        ax.set_title(ttl + (f"\n{out} of {len(Y)} points outside the view" if out else f"\n{len(Y):,} points"),
                     fontsize=9.5)
        ax.set_xlim(*xl)
        ax.set_ylim(*yl)
        ax.set_aspect("equal", adjustable="box")
        ax.grid(True, alpha=0.25)
        ax.xaxis.set_tick_params(labelbottom=True)
        ax.yaxis.set_tick_params(labelleft=True)
        ax.set_xlabel("x₁")
        if ax.get_subplotspec().is_first_col():
            ax.set_ylabel("x₂")
    hs = [Line2D([], [], ls="", marker="o", color="0.4", ms=4),
          Line2D([], [], ls="", marker="+", color="k", ms=7)]
    ls = ["samples (subset)", "component means"]
    pt = R.panel_title(st.pkeys, p)
    return [finish(fig, os.path.join(outdir, "clusters.png"), hs, ls,
                   title=f"First two coordinates, {which_nfe(args)} per sampler{' — ' + pt if pt else ''} — {st.stem}")]


# ------------------------------------------------- Fréchet distance vs NFE

def fig_frechet(st, outdir):
    """Fréchet distance (metrics/frechet_distance) vs NFE on a log y axis, the
    layout of accuracy_vs_nfe.png; the grey band is the measured exact-sample
    floor ± 2 sd, the error bars ± 1 sd of that floor (the FD's sampling noise
    at this N), or the t-interval over seeds when seeds were swept"""
    fname = "frechet_vs_nfe.png"
    have = [r for r in st.runs if math.isfinite(r.m["frechet_distance"])]
    if not have:
        note(f"{fname}: no run stores metrics/frechet_distance (older file, d > 1024 or "
             "metrics.frechet = false): skipped")
        return []
    if not any(not r.is_exact and r.nfe > 0 for r in have):
        note(f"{fname}: no sampler run with NFE > 0 stores the Fréchet distance: skipped")
        return []
    panels = st.panels(have)
    budgets = [r.nfe_budget if r.nfe_budget > 0 else r.nfe for r in have if not r.is_exact]
    fig, axes = subplots(len(panels), w=6.0, h=4.4, sharey=True)
    handles = {}
    pos = []  # positive values drawn, for the y range
    bars = False
    for ax, p in zip(axes, panels):
        runs = [r for r in have if R.panel_matches(r, st.pkeys, p)]
        fl = [(r.m["frechet_floor"], r.m["frechet_floor_sd"], r.frechet_sets, r.particles) for r in runs
              if math.isfinite(r.m["frechet_floor"])]
        if fl:
            mu = float(np.mean([x[0] for x in fl]))
            sd = float(np.mean([x[1] for x in fl])) if all(math.isfinite(x[1]) for x in fl) else float("nan")
            band = math.isfinite(sd) and sd > 0
            if band:
                lo = mu - 2 * sd
                ax.axhspan(lo if lo > 0 else mu * 1e-3, mu + 2 * sd, color="0.6", alpha=0.35, lw=0)
                pos.append(mu + 2 * sd)  # (the lower edge may run off the axis: it is not a data point)
            ax.axhline(mu, color="k", ls=":", lw=1.2)
            pos.append(mu)
            sets = sorted({x[2] for x in fl})
            ns = sorted({x[3] for x in fl})
            what = (f"{'/'.join(map(str, sets))} exact sample sets" if sets != [1] else "1 exact sample set")
            handles["floor"] = (
                (Patch(facecolor="0.6", alpha=0.5, edgecolor="k", ls=":") if band else
                 Line2D([], [], color="k", ls=":"),
                 f"floor: mean FD of {what}\nof the same N ({'/'.join(f'{n:,}' for n in ns)})"
                 + ("; band ± 2 sd" if band else "; no sd (metrics.frechet_sets < 2)")))
        ex = [r.m["frechet_distance"] for r in runs if r.is_exact]
        if ex:
            v = float(np.mean(ex))
            ax.axhline(v, color="0.3", ls="--", lw=1.1)
            pos.append(v)
            handles["exact"] = (Line2D([], [], color="0.3", ls="--"), "FD of the exact run's samples"
                                + (f" (mean of {len(ex)} seeds)" if len(ex) > 1 else ""))
        ser = st.series(runs, "frechet_distance", "frechet_sd_bar")
        for lb in st.labels:
            if lb not in ser:
                continue
            a = np.array(ser[lb], float)
            c = st.color[lb]
            ax.plot(a[:, 0], a[:, 1], marker=st.marker[lb], color=c, lw=1.6, ms=5)
            pos += [v for v in a[:, 1] if v > 0]
            ok = np.isfinite(a[:, 2]) & (a[:, 1] > 0)
            if ok.any():
                lo = np.maximum(a[ok, 2], a[ok, 1] * 1e-3)  # a bar reaching 0 is cut on the log axis
                ax.errorbar(a[ok, 0], a[ok, 1], yerr=[a[ok, 1] - lo, a[ok, 3] - a[ok, 1]],
                            fmt="none", ecolor=c, elinewidth=1, capsize=2.5)
                bars = True
                pos += [v for v in a[ok, 3] if math.isfinite(v) and v > 0]
            handles.setdefault(lb, (Line2D([], [], color=c, marker=st.marker[lb], lw=1.6), lb))
        nfe_axis(ax, budgets)
        ax.set_yscale("log")
        ax.set_xlabel("NFE per particle (score evaluations)")
        ax.set_title(R.panel_title(st.pkeys, p) or st.common_title)
        ax.grid(True, which="major", alpha=0.35)
        ax.grid(True, which="minor", alpha=0.12)
    for ax in axes:
        if ax.get_subplotspec().is_first_col():
            ax.set_ylabel("Fréchet distance to p_δ (log scale)")
        ax.yaxis.set_tick_params(labelleft=True)
    if pos:
        axes[0].set_ylim(min(pos) / 1.8, max(pos) * 1.8)
    order = [k for k in handles if k not in ("exact", "floor")] + [k for k in ("exact", "floor") if k in handles]
    hs = [handles[k][0] for k in order]
    ls = [handles[k][1] for k in order]
    seeds = len({r.seed for r in have})
    how = ("no error bars (no floor sd: metrics.frechet_sets < 2)" if not bars else
           f"error bars: 95% t-interval over {seeds} seeds" if seeds > 1 else
           "error bars: ± 1 sd of the floor (the FD's sampling noise at this N)")
    return [finish(fig, os.path.join(outdir, fname), hs, ls,
                   title=f"Fréchet distance (mean and covariance) vs NFE — {st.stem} ({st.desc})\n{how}")]


# ------------------------------------------------------- decoded images

def run_decoder(st, r):
    """the decode map of a run's target ((None, why) without one)"""
    g = st.f[r.path]
    tg = g["target"] if "target" in g else st.f["target"] if "target" in st.f else None
    if tg is None:
        return None, "the file has no /target"
    return R.Decoder.from_group(tg, r.dim)


def panel_slug(keys, ptuple):
    s = "_".join(f"{k}-{v}" for k, v in zip(keys, ptuple))
    return "".join(ch if ch.isalnum() or ch in ".-_" else "-" for ch in s)


def fig_images(st, outdir, args):
    """decoded sample images: one row per sampler x NFE (smallest seed), the
    first --images particles by global id in every row, the exact run's row on
    top; one file per panel (images.png when there is one panel)"""
    dec = {}
    why = set()
    for r in st.runs:
        dv, w = run_decoder(st, r)
        if dv is None:
            why.add(w)
        else:
            dec[r.id] = dv
    if not dec:
        note(f"images.png: no decode basis ({'; '.join(sorted(why))}; only mog-file targets made by "
             "analysis/make_target.py have one): skipped")
        return []
    sel = [r for r in st.runs if r.id in dec and r.has_samples]
    if not sel:
        note("images.png: no run with a decode basis stored samples (output.samples = 0?): skipped")
        return []
    if args.images < 1:
        note("images.png: --images 0: skipped")
        return []
    panels = st.panels(sel) or [tuple("-" for _ in st.pkeys)]
    seeds = sorted({r.seed for r in sel})
    written = []
    for p in panels:
        runs = [r for r in sel if R.panel_matches(r, st.pkeys, p)]
        first = {}  # (label, nfe budget) -> run with the smallest seed
        for r in runs:
            k = (R.label(r), r.nfe_budget)
            if k not in first or (r.seed, r.id) < (first[k].seed, first[k].id):
                first[k] = r
        exact = [r for (lb, _), r in first.items() if r.is_exact]
        rows = [("exact", exact[0])] if exact else []
        for lb in st.labels:
            rows += [(lb, first[k]) for k in sorted(first, key=lambda k: (first[k].nfe, k[1]))
                     if k[0] == lb and not first[k].is_exact]
        if not rows:
            note(f"images: no run with samples in panel {R.panel_title(st.pkeys, p)}: skipped")
            continue
        shapes = {dec[r.id].shape for _, r in rows}
        if len(shapes) > 1:
            note(f"images: panel {R.panel_title(st.pkeys, p)} mixes image shapes {sorted(shapes)}: skipped")
            continue
        h, w = shapes.pop()
        n = min(args.images, max(r.samples_stored for _, r in rows))
        imgs = [dec[r.id].decode(st.f[r.path]["samples"][:min(n, r.samples_stored)]) for _, r in rows]
        vr = [dec[r.id].value_range for _, r in rows if dec[r.id].value_range]
        if vr:
            vmin, vmax = min(v[0] for v in vr), max(v[1] for v in vr)
        else:  # no value_range: the range of the exact row (or of all rows)
            ref = imgs[0] if exact else np.concatenate([x.ravel() for x in imgs])
            ref = ref[np.isfinite(ref)]
            vmin, vmax = (float(ref.min()), float(ref.max())) if ref.size else (0.0, 1.0)
        cmap = plt.get_cmap("gray").copy()
        cmap.set_bad((0.85, 0.15, 0.15))  # non-finite pixels (a diverged sampler) in red
        # row groups (exact, then each sampler) separated by a thin gap
        cell = max(0.6, min(1.2, 3.5 * max(h, w) / DPI))  # inches per image: >= 3.5 screen px per pixel
        gap = 0.1 * w  # between images, in pixels
        grp = [lb for lb, _ in rows]
        hr, axrow = [], []
        for i, lb in enumerate(grp):
            if i and lb != grp[i - 1]:
                hr.append(0.18)
                axrow.append(None)
            hr.append(1.0)
            axrow.append(i)
        body = sum(hr) * cell * 1.06 + 0.2  # inches; above it: the 3-line title and the particle ids
        head = 0.95
        H = body + head
        fig = plt.figure(figsize=(n * cell * 1.1 + 2.2, H))
        gs = fig.add_gridspec(len(hr), 1, height_ratios=hr, hspace=0.06,
                              top=body / H, bottom=0.2 / H, left=0.02, right=0.98)
        row_seeds = {r.seed for _, r in rows}
        nan_rows = 0
        for gi, i in enumerate(axrow):
            if i is None:
                continue
            lb, r = rows[i]
            ax = fig.add_subplot(gs[gi, 0])
            X = imgs[i]
            for j in range(X.shape[0]):
                x0 = j * (w + gap)
                ax.imshow(X[j], cmap=cmap, vmin=vmin, vmax=vmax, interpolation="nearest",
                          extent=(x0, x0 + w, h, 0))
            nan_rows += int(not np.isfinite(X).all())
            ax.set_xlim(-0.02 * w, n * (w + gap) - gap + 0.02 * w)
            ax.set_ylim(h, 0)
            ax.set_aspect("equal")
            ax.set_xticks([])
            ax.set_yticks([])
            for sp in ax.spines.values():
                sp.set_visible(False)
            fd = r.m["frechet_distance"]
            fdt = f"FD {fsig(fd, 3)}" if math.isfinite(fd) else ""
            sd = f" · seed {r.seed}" if len(row_seeds) > 1 else ""
            if r.is_exact:
                txt = f"exact (truth)\n{fdt}{sd}".rstrip()
            else:
                txt = f"{lb}\nNFE {r.nfe:.4g}" + (f" · {fdt}" if fdt else "") + sd
            ax.set_ylabel(txt, rotation=0, ha="right", va="center", labelpad=8, fontsize=9,
                          color="0.1" if r.is_exact else st.color[lb],
                          fontweight="bold" if r.is_exact else "normal")
            if i == 0:  # particle ids over the first row
                ax.set_xticks([j * (w + gap) + w / 2 for j in range(n)])
                ax.set_xticklabels([str(j) for j in range(n)], fontsize=8)
                ax.xaxis.set_ticks_position("top")
                ax.tick_params(axis="x", length=0, pad=2)
        pt = R.panel_title(st.pkeys, p)
        trunc = [r.id for _, r in rows if r.samples_stored < n]
        if trunc:
            note(f"images: {', '.join(trunc)} stored fewer than {n} samples: their rows are partly empty")
        lines = [f"Decoded samples ({h}×{w}), particles 0–{n - 1} by global id in every row"
                 + (f", seed {min(row_seeds)}" if len(seeds) > 1 and len(row_seeds) == 1 else "")
                 + (f" — {pt}" if pt else ""),
                 ("top row: the exact sampler" if exact else
                  "no exact run in this study: no ground-truth row")
                 + f"; grey scale {vmin:g} (black) to {vmax:g} (white)"
                 + ("; red = non-finite" if nan_rows else ""),
                 f"{st.stem} ({st.desc})"]
        fig.suptitle("\n".join(lines), fontsize=10, y=1 - 0.05 / H, va="top")
        fname = "images.png" if len(panels) == 1 else f"images_{panel_slug(st.pkeys, p)}.png"
        desc = ", ".join("exact" if r.is_exact else f"{lb} NFE {r.nfe:.4g}" for lb, r in rows)
        print(f"{fname}: {len(rows)} rows ({desc}){'' if exact else ' — no exact run, no ground-truth row'}; "
              f"particles 0–{n - 1}")
        path = os.path.join(outdir, fname)
        fig.savefig(path, dpi=DPI, bbox_inches="tight", pad_inches=0.15)
        plt.close(fig)
        written.append(path)
    return written


# --------------------------------------------------------- dimensional scaling

SCALING_METRICS = {
    # name: (default target, long description, short label)
    "moment_kl": (0.02, "moment KL (metrics/moment_kl: noise-corrected second-order KL of the coordinate means "
                        "and variances, summed over coordinates)", "moment KL"),
    "excess_tv": (0.01, "excess TV (metrics/excess_tv: mean over coordinates of TV − noise floor)", "excess TV"),
    "max_excess_tv": (0.02, "max excess TV (worst coordinate's TV − its noise floor)", "max-coordinate excess TV"),
}


def scaling_metric(st, name):
    """'auto' -> moment_kl when every run stores it (rtkbench with moments on), else excess_tv"""
    if name != "auto":
        return name
    ok = all("moment_kl" in st.f[r.path]["metrics"] for r in st.runs if not r.is_exact)
    return "moment_kl" if ok else "excess_tv"


def scaling_value(st, r, metric):
    """moment_kl and excess_tv are stored; max_excess_tv is the worst
    coordinate's TV minus that coordinate's noise floor, from
    metrics/marginal_tv and bin_probs"""
    m = st.f[r.path]["metrics"]
    if metric == "excess_tv":
        return r.m["excess_tv"]
    if metric == "moment_kl":
        return float(m["moment_kl"][()]) if "moment_kl" in m else float("nan")
    if "marginal_tv" not in m or "bin_probs" not in m:
        return float("nan")
    N = r.particles
    floor_i = 0.5 * (R.binomial_mad(N, m["bin_probs"][:]) / N).sum(axis=1)
    return float((m["marginal_tv"][:] - floor_i).max())


def scaling_results(st, metric, tgt):
    """NFE* per (label, other panel values) and dimension, and the log-log fit:
    [(group key, {d: ((nfe_star, status), (nfe_min, nfe_max))}, fitted dims, (a, b, b_lo, b_hi))]
    (also used by results_tables.py)"""
    other = [k for k in st.pkeys if k != "dim"]
    groups = {}
    for r in st.runs:
        if r.is_exact or not (r.nfe > 0):
            continue
        gk = (R.label(r), tuple(r.panel[k] for k in other))
        groups.setdefault(gk, {}).setdefault(r.dim, {}).setdefault(r.nfe_budget, []).append(r)
    order = sorted(groups, key=lambda g: (st.labels.index(g[0]), [R.sort_value(v) for v in g[1]]))
    results = []
    for gk in order:
        per_dim = {}
        for d, byb in groups[gk].items():
            nf = [float(np.mean([r.nfe for r in rs])) for b, rs in sorted(byb.items())]
            ex = [float(np.nanmean([scaling_value(st, r, metric) for r in rs]))
                  for b, rs in sorted(byb.items())]
            per_dim[d] = (R.nfe_at_threshold(nf, ex, tgt), (min(nf), max(nf)))
        fitd = [d for d in sorted(per_dim) if per_dim[d][0][1] == "interp"]
        a, b, blo, bhi = R.loglog_fit(fitd, [per_dim[d][0][0] for d in fitd])
        results.append((gk, per_dim, fitd, (a, b, blo, bhi)))
    return results


def scaling(st, outdir, args):
    dims = sorted({r.dim for r in st.runs if not r.is_exact})
    if len(dims) < 2:
        return []
    metric = scaling_metric(st, args.scaling_metric)
    tgt = args.scaling_target if args.scaling_target is not None else SCALING_METRICS[metric][0]
    mname, short = SCALING_METRICS[metric][1:]
    other = [k for k in st.pkeys if k != "dim"]
    results = scaling_results(st, metric, tgt)
    # markdown table
    p_md = os.path.join(outdir, "scaling.md")
    lines = [f"# Dimensional scaling — `{os.path.basename(st.path)}`", "",
             f"NFE* = smallest NFE per particle with {mname} ≤ {tgt:g} (seeds averaged), interpolated between the bracketing runs as a local power law (log value linear in log NFE); "
             "'≤ n' = already met at the smallest NFE tried (upper bound, not fitted); "
             "'not reached' = above the target at every NFE tried. "
             "Fit: log NFE* = a + b log d by least squares over the interpolated points, "
             "95% t-interval for b (n − 2 dof).", ""]
    gh = [k for k in other]
    hdr = ["sampler"] + gh + [f"d = {d}" for d in dims] + ["slope b", "95% CI", "n", "theory"]
    lines.append("| " + " | ".join(hdr) + " |")
    lines.append("|" + "|".join(["---"] * (1 + len(gh)) + ["---:"] * (len(dims) + 4)) + "|")
    printed = []
    for gk, per_dim, fitd, (a, b, blo, bhi) in results:
        cells = [gk[0]] + list(gk[1])
        for d in dims:
            if d not in per_dim:
                cells.append("—")
                continue
            (n, stt), (nmin, nmax) = per_dim[d]
            cells.append(f"{n:.1f}" if stt == "interp" else f"≤ {n:g}" if stt == "at-first"
                         else f"not reached (> {nmax:g})")
        sampler = gk[0].split(" ")[0]
        if math.isfinite(b):
            cells += [f"{b:.2f}", f"[{blo:.2f}, {bhi:.2f}]" if math.isfinite(blo) else "— (2 points)",
                      str(len(fitd))]
        else:
            reached = any(per_dim[d][0][1] != "not reached" for d in per_dim)
            cells += ["—" if reached else "not reached", "—", str(len(fitd))]
        cells.append(THEORY.get(sampler, "—"))
        lines.append("| " + " | ".join(cells) + " |")
        name = gk[0] + (f" [{', '.join(f'{k}={v}' for k, v in zip(other, gk[1]))}]" if other else "")
        if math.isfinite(b):
            ci = f"95% CI [{blo:.2f}, {bhi:.2f}]" if math.isfinite(blo) else "no CI (2 points)"
            printed.append(f"scaling exponent {name}: b = {b:.3f} ({ci}, {len(fitd)} dims; theory {THEORY.get(sampler, '—')})")
        else:
            st_ = [per_dim[d][0][1] for d in per_dim]
            why = (f"only {len(fitd)} dim(s) bracket the target" if fitd else
                   "target met already at the smallest NFE in every dimension: lower the NFE range"
                   if all(x == "at-first" for x in st_) else
                   "target not reached in enough dimensions: raise the NFE range")
            printed.append(f"scaling exponent {name}: no fit ({why}; {short} target {tgt:g})")
    lines += ["", "Theory slopes (reference): rtk-uld 0.5, rtk-mala 2 (times a log factor), ddpm 1.", ""]
    with open(p_md, "w") as fh:
        fh.write("\n".join(lines))
    for s in printed:
        print(s)

    # figure
    fig, ax = plt.subplots(figsize=(8.6, 5.0))
    any_pt = False
    hs, ls = [], []
    for gk, per_dim, fitd, (a, b, blo, bhi) in results:
        c = st.color[gk[0]]
        mk = st.marker[gk[0]]
        ds = [d for d in sorted(per_dim) if per_dim[d][0][1] == "interp"]
        if ds:
            ax.plot(ds, [per_dim[d][0][0] for d in ds], ls="", marker=mk, color=c, ms=7)
            any_pt = True
        ub = [d for d in sorted(per_dim) if per_dim[d][0][1] == "at-first"]
        if ub:
            ax.plot(ub, [per_dim[d][0][0] for d in ub], ls="", marker="v", mfc="none", color=c, ms=8)
            any_pt = True
        lb = [d for d in sorted(per_dim) if per_dim[d][0][1] == "not reached"]
        if lb:  # a lower bound: above the largest NFE tried
            k = [res[0] for res in results].index(gk)  # samplers stacked apart so that none hides another
            ax.plot(lb, [per_dim[d][1][1] * 1.08 ** k for d in lb], ls="", marker="^", mfc="none", color=c, ms=8)
            any_pt = True
        name = gk[0] + (f" ({', '.join(gk[1])})" if gk[1] else "")
        if math.isfinite(b):
            xx = np.geomspace(min(fitd), max(fitd), 50)
            ax.plot(xx, np.exp(a) * xx ** b, color=c, lw=1.4, ls="--")
            ci = f" [{blo:.2f}, {bhi:.2f}]" if math.isfinite(blo) else ""
            lab = f"{name}: b = {b:.2f}{ci}"
        elif ds or ub:
            lab = f"{name}: no fit"
        else:
            lab = f"{name}: not reached"
        hs.append(Line2D([], [], color=c, marker=mk, ls="--" if math.isfinite(b) else ""))
        ls.append(lab)
    if any(v[0][1] == "at-first" for res in results for v in res[1].values()):
        hs.append(Line2D([], [], color="0.4", marker="v", mfc="none", ls=""))
        ls.append("met at smallest NFE (upper bound, not fitted)")
    if any(v[0][1] == "not reached" for res in results for v in res[1].values()):
        hs.append(Line2D([], [], color="0.4", marker="^", mfc="none", ls=""))
        ls.append("not reached: drawn at the largest NFE tried (lower bound, not fitted)")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xticks(dims)
    ax.set_xticklabels([str(d) for d in dims])
    ax.xaxis.set_minor_locator(matplotlib.ticker.NullLocator())
    ax.yaxis.set_major_locator(matplotlib.ticker.LogLocator(subs=(1.0, 2.0, 5.0)))
    ax.yaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda v, _: f"{v:g}"))
    ax.yaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
    ax.set_xlabel("dimension d")
    ax.set_ylabel(f"NFE per particle to reach {short} ≤ {tgt:g}")
    ax.grid(True, which="both", alpha=0.3)
    if not any_pt:
        ax.text(0.5, 0.5, f"no sampler reached {short} ≤ {tgt:g}", ha="center", va="center",
                transform=ax.transAxes)
        ax.set_ylim(1, 1e3)
    p_png = finish(fig, os.path.join(outdir, "scaling.png"), hs, ls,
                   title=f"NFE* vs dimension, fit log NFE* = a + b log d — {st.stem}")
    return [p_png, p_md]


# -------------------------------------------------------------------- main

def main(argv=None):
    ap = argparse.ArgumentParser(description="rtkbench results -> summary table and figures")
    ap.add_argument("results", help="rtkbench HDF5 results file")
    ap.add_argument("-o", "--outdir", help="output folder (default <stem>_figures next to the file)")
    ap.add_argument("--scaling-metric", choices=("auto",) + tuple(SCALING_METRICS), default="auto",
                    help="criterion of the scaling mode: moment_kl (metrics/moment_kl, additive over "
                         "coordinates; the default when stored), excess_tv (mean over coordinates) or "
                         "max_excess_tv (worst coordinate)")
    ap.add_argument("--scaling-target", "--excess-target", dest="scaling_target", type=float, default=None,
                    help="value of the scaling criterion that defines NFE* (default: 0.02 for moment_kl, "
                         "0.01 for excess_tv, 0.02 for max_excess_tv)")
    ap.add_argument("--grid", help="grid shown in hist_x2/clusters (default geometric if present)")
    ap.add_argument("--strip", type=float, nargs=2, default=(0.75, 1.25), metavar=("LO", "HI"),
                    help="x1 strip of hist_x2.png (default 0.75 1.25)")
    ap.add_argument("--nfe", type=float, help="hist_x2/clusters: show the runs with the NFE budget nearest "
                                               "to this (default: the largest NFE of each sampler)")
    ap.add_argument("--points", type=int, default=3000, help="points per panel in clusters.png")
    ap.add_argument("--images", type=int, default=10, metavar="N",
                    help="images.png: images per row, the first N particles by global id (default 10)")
    args = ap.parse_args(argv)

    if not os.path.isfile(args.results):
        sys.exit(f"rtk_analyze: no such file: {args.results}")
    outdir = args.outdir or os.path.join(os.path.dirname(os.path.abspath(args.results)),
                                         os.path.splitext(os.path.basename(args.results))[0] + "_figures")
    os.makedirs(outdir, exist_ok=True)
    written = []
    with h5py.File(args.results, "r") as f:
        fmt = R.sval(f.attrs.get("format", ""))
        if fmt != "rtkbench":
            sys.exit(f"rtk_analyze: {args.results} is not an rtkbench results file (format='{fmt}')")
        ver = int(f.attrs.get("format_version", 0))
        if ver != 1:
            note(f"format_version {ver} (this script was written for 1)")
        st = Study(args.results, f)
        if not st.runs:
            sys.exit("rtk_analyze: the file holds no complete run")
        print(f"{args.results}: {len(st.runs)} complete runs, samplers {', '.join(st.sampler_order)}; "
              f"panels by {', '.join(st.pkeys) or '(none)'}")
        steps = [
            lambda: write_summary(st, outdir),
            lambda: fig_vs_nfe(st, outdir, "marginal_accuracy", "marginal_accuracy_ci95", "accuracy_vs_nfe.png",
                               "marginal accuracy (1 − mean TV)", "Marginal accuracy vs NFE", floor=True, zoom=True),
            lambda: fig_vs_nfe(st, outdir, "mode_tv", "mode_tv_ci95", "mode_tv_vs_nfe.png",
                               "mode-weight TV (log scale)", "Mode-weight TV vs NFE", logy=True),
            lambda: fig_acceptance(st, outdir),
            lambda: fig_time_split(st, outdir),
            lambda: fig_boundaries(st, outdir),
            lambda: fig_hist_x2(st, outdir, args),
            lambda: fig_clusters(st, outdir, args),
            lambda: fig_frechet(st, outdir),
            lambda: fig_images(st, outdir, args),
            lambda: scaling(st, outdir, args),
            lambda: rtk_scores.score_outputs(f, outdir, plt, note),
        ]
        failed = 0
        for step in steps:
            try:
                written += step()
            except Exception as e:  # keep going: one broken figure must not cost the others
                import traceback
                traceback.print_exc()
                print(f"error: {e!r} (continuing with the next output)")
                plt.close("all")
                failed += 1
    print("files written:")
    for p in written:
        print(f"  {p}")
    if failed:
        print(f"rtk_analyze: {failed} output(s) failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
