#!/usr/bin/python3
"""The measured tables of docs/results.md and the README's quick start, printed
from results files, and checked against the text.

usage: results_tables.py show SECTION FILE...    the section's tables (markdown, as in the docs)
                                                 and the numbers its prose quotes (a labelled list)
       results_tables.py check SECTION FILE...   diff the generated tables (and the checked
                                                 sentences) against the docs' current text;
                                                 exit 0 identical, 1 differs, 2 bad input
       results_tables.py sections                the sections, their files and their anchors
       results_tables.py figures                 which figures each section's files regenerate, and how
       options: --doc PATH (default: the section's docs/results.md or README.md beside this script)
                --only TEXT (only the tables whose anchor contains TEXT, no sentences: for
                partial files, e.g. the CTest docs.results_tables)

FILE is KEY=PATH or a plain PATH (taken by the next unassigned KEY, in the order of
`sections`); keys in [brackets] there are optional. Missing optional files only
drop their tables or quotes.

Sections (the table groups of docs/results.md; `bench/remeasure.sh` makes the files):
  quickstart           README.md, "What the demo shows"
  paper_mog            uniform and geometric grids, the exact-samples sentence
  dim_scaling          NFE* tables of both studies (moment KL 0.02, rtk_analyze.py's scaling)
  fashion_mnist        d = 64 table, the 10/25-segment follow-up, pixel space
  score_error          accuracy table and plateau table (rtk_scores.py)
  score_error_fashion  accuracy table
  solvers              3 grids, best-of, taylor (solvers_table.py)
  fors                 every FORS table (fors_study.py)
Needs numpy and h5py (and matplotlib, imported by rtk_analyze.py for dim_scaling).
"""
import contextlib
import io
import math
import os
import re
import sys

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
ROOT = os.path.dirname(HERE)

import h5py  # noqa: E402
import numpy as np  # noqa: E402

import rtk_results as R  # noqa: E402

MINUS = "\u2212"


# ------------------------------------------------------------------ reading

class Run:
    """one complete run: rtk_results.Run plus the metrics it does not read"""

    EXTRA = ("moment_kl", "moment_kl_se")

    def __init__(self, f, rid):
        g = f["runs"][rid]
        self.r = R.Run(rid, g)
        m = g["metrics"]
        self.m = dict(self.r.m)
        for k in self.EXTRA:
            self.m[k] = float(m[k][()]) if k in m else float("nan")
        self.sampler = self.r.sampler
        self.kv = self.r.sweep_d
        self.budget = self.r.nfe_budget
        self.nfe = self.r.nfe
        self.N = self.r.particles
        self.dim = self.r.dim
        self.segments = self.r.segments
        self.grid = self.kv.get("time.grid") or self.kv.get(f"{self.sampler}.grid") or self.r.grid
        self.acc = self.m["marginal_accuracy"]
        self.hw = 1.96 * self.m["marginal_accuracy_se"]
        self.mode = self.m["mode_tv"]
        self.accept = self.m["acceptance_overall"]
        self.idx = int(rid.split("-", 1)[0]) if rid[:1].isdigit() else -1

    def cfg(self, section, key, default=None):
        return self.r.cfg_get(section, key, default)


def read(path):
    """complete runs of a results file in run order, and run.samplers' order"""
    with h5py.File(path, "r") as f:
        out = []
        for rid in sorted(f["runs"].keys()):
            st = R.sval(f["runs"][rid].attrs.get("status", "complete"))
            if st == "complete":
                out.append(Run(f, rid))
    order = []
    for r in out:
        if r.sampler not in order:
            order.append(r.sampler)
    return out, order


def one(runs, **want):
    """the single run whose attributes match want (None if none)"""
    rs = [r for r in runs if all(getattr(r, k) == v for k, v in want.items())]
    return rs[0] if rs else None


def uminus(s):
    """a leading ASCII minus as the docs' U+2212"""
    return s.replace("-", MINUS, 1) if s.startswith("-") else s


def sig3(x):
    """3 significant digits, trailing zeros kept (0.200, 14.0, 165)"""
    if not math.isfinite(x):
        return "—"
    return f"{x:.0f}" if abs(x) >= 99.95 else f"{x:#.3g}"


def rng(vals, fmt="{:.3f}"):
    vals = [v for v in vals if v is not None and math.isfinite(v)]
    if not vals:
        return "—"
    lo, hi = fmt.format(min(vals)), fmt.format(max(vals))
    return lo if lo == hi else f"{lo}–{hi}"


# ------------------------------------------------------------------ output

class Out:
    """what a section generator produces: tables (anchor, lines), sentences that
    must occur in the section's text, and quoted numbers (label, value)"""

    def __init__(self):
        self.tables, self.sentences, self.quotes = [], [], []

    def table(self, anchor, lines):
        self.tables.append((anchor, list(lines)))

    def sentence(self, s):
        self.sentences.append(s)

    def quote(self, label, value):
        self.quotes.append((label, value))


def row(cells):
    return "| " + " | ".join(str(c) for c in cells) + " |"


def sep(ncols, nleft=1, right=True):
    return "|" + "---|" * nleft + ("---:|" if right else "---|") * (ncols - nleft)


def padded(header, rows):
    """a table with every column padded to its widest cell (the README style)"""
    w = [max(len(str(x[i])) for x in [header] + rows) for i in range(len(header))]
    line = lambda cs: "| " + " | ".join(str(c).ljust(w[i]) for i, c in enumerate(cs)) + " |"
    return [line(header), "|" + "|".join("-" * (x + 2) for x in w) + "|"] + [line(r) for r in rows]


# ------------------------------------------------------------------ sections

def gen_quickstart(files):
    runs, _ = read(files["qs"])
    o = Out()
    rows = []
    for r in runs:
        ex = r.sampler == "exact"
        rows.append([str(r.idx), r.sampler, "–" if ex else r.grid, f"{r.nfe:.0f}", f"{r.acc:.4f}", f"{r.hw:.4f}",
                     f"{1 - r.m['noise_floor']:.4f}", uminus(f"{r.m['excess_tv']:+.4f}"), f"{r.mode:.4f}",
                     "–" if not math.isfinite(r.accept) else f"{r.accept:.3f}"])
    hdr = ["run", "sampler", "grid", "NFE", "accuracy", "±95%", "1 − floor", "excess TV", "mode TV", "MALA accept"]
    o.table("## What the demo shows", padded(hdr, rows))
    ex = one(runs, sampler="exact")
    mala = one(runs, sampler="rtk-mala")
    if ex and mala:
        o.quote("|rtk-mala − exact| accuracy ('within 0.002 of exact samples')", f"{abs(mala.acc - ex.acc):.4f}")
    o.quote("particles, NFE", f"{runs[0].N}, {max(r.nfe for r in runs):.0f}")
    return o


def gen_paper_mog(files):
    runs, order = read(files["main"])
    o = Out()
    budgets = sorted({r.budget for r in runs if r.sampler != "exact"})
    samplers = [s for s in order if s != "exact"]
    for grid in ("uniform", "geometric"):
        lines = [row(["sampler"] + [f"NFE {b}" for b in budgets]), sep(len(budgets) + 1)]
        for s in samplers:
            cells = []
            for b in budgets:
                r = one(runs, sampler=s, grid=grid, budget=b)
                cells.append(f"{r.acc:.4f} ± {r.hw:.4f} ({r.mode:.3f})" if r else "")
            lines.append(row([s] + cells))
        o.table(f"**{grid} grid**: marginal accuracy ± 95% half-width (mode-weight TV)", lines)
    ex = one(runs, sampler="exact")
    if ex:
        n = f"{ex.N:,}".replace(",", " ")
        o.sentence(f"exact samples, N = {n}: accuracy {ex.acc:.4f} ± {ex.hw:.4f}, mode TV {ex.mode:.4f}; "
                   f"the expected accuracy of exact samples of this size (1 − noise floor) is "
                   f"{1 - ex.m['noise_floor']:.4f}.")
    pm = [r for r in runs if r.sampler == "pmm"]
    if pm:
        o.quote("PMM mean NFE / budget (all runs)", f"{np.mean([r.nfe / r.budget for r in pm]):.2f}")
        for r in pm:
            if r.budget == 100:
                o.quote(f"PMM mean NFE at budget 100 ({r.grid})", f"{r.nfe:.1f}")
    for b in budgets:
        m, d = one(runs, sampler="rtk-mala", grid="uniform", budget=b), one(runs, sampler="ddpm", grid="uniform", budget=b)
        if m and d:
            o.quote(f"uniform, {b} NFE: rtk-mala vs ddpm (gap / half-width)",
                    f"{m.acc:.3f} vs {d.acc:.3f} ({abs(m.acc - d.acc) / max(m.hw, d.hw):.0f})")
    for s in ("rtk-mala", "rtk-mala-score"):
        for grid in ("uniform", "geometric"):
            acc = [one(runs, sampler=s, grid=grid, budget=b) for b in budgets if b >= 100]
            o.quote(f"{s} acceptance, {grid}, 100–{budgets[-1]} NFE", rng([r.accept for r in acc if r], "{:.2f}"))
    for grid in ("geometric",):
        for b in budgets:
            a, c = one(runs, sampler="rtk-mala", grid=grid, budget=b), one(runs, sampler="rtk-mala-score", grid=grid, budget=b)
            if a and c:
                o.quote(f"{grid}, {b} NFE: rtk-mala − rtk-mala-score accuracy", f"{a.acc - c.acc:+.4f}")
        for b in budgets:
            d = one(runs, sampler="ddpm", grid=grid, budget=b)
            if d and ex:
                o.quote(f"{grid}, {b} NFE: ddpm below 1 − floor (half-widths)",
                        f"{1 - ex.m['noise_floor'] - d.acc:+.4f} ({(1 - ex.m['noise_floor'] - d.acc) / d.hw:.1f})")
    if "early" in files:
        er, _ = read(files["early"])
        for r in er:
            o.quote(f"stopped early (δ = 0.001): {r.sampler}, {r.budget} NFE" if r.sampler != "exact" else
                    "stopped early: exact samples (and 1 − floor)",
                    f"{r.acc:.4f} ± {r.hw:.4f}" + (f" ({1 - r.m['noise_floor']:.4f})" if r.sampler == "exact" else ""))
    return o


DIM_THEORY = {"ddpm": "1", "rtk-mala": "2 (× log)", "rtk-uld": "0.5"}


def _nfe_star(path):
    import h5py as _h
    import rtk_analyze as A
    with _h.File(path, "r") as f:
        st = A.Study(path, f)
        res = A.scaling_results(st, "moment_kl", 0.02)
    return res


def _dim_table(path, tuned):
    runs, _ = read(path)
    res = _nfe_star(path)
    dims = sorted({r.dim for r in runs if r.sampler != "exact"})
    lines = [row(["sampler"] + [f"d = {d}" if i == 0 else str(d) for i, d in enumerate(dims)] +
                 ["slope b", "95% CI", "theory"]), sep(len(dims) + 4)]
    stars = {}
    for gk, per_dim, fitd, (a, b, blo, bhi) in res:
        s = gk[0].split(" ")[0]
        lab = s
        r0 = one(runs, sampler=s)
        if tuned and s == "rtk-mala" and r0.cfg("rtk-mala", "step_mode") == "adaptive":
            lab = "rtk-mala, adaptive"
        elif tuned and s == "rtk-uld":
            lab = f"rtk-uld, step {float(r0.cfg('rtk-uld', 'step', 'nan')):g}"
        cells = []
        for d in dims:
            (n, stt), (nmin, nmax) = per_dim[d]
            cells.append(f"{n:.1f}" if stt == "interp" else f"≤ {n:g}" if stt == "at-first" else f"> {nmax:g}")
            stars[(lab, d)] = n if stt != "not reached" else float("inf")
        clean = all(per_dim[d][0][1] == "interp" for d in dims)
        bs = f"{b:.2f}" if math.isfinite(b) else "—"
        cells += [f"**{bs}**" if clean else bs,
                  f"[{blo:.2f}, {bhi:.2f}]" if math.isfinite(blo) else "—", DIM_THEORY.get(s, "—")]
        lines.append(row([lab] + cells))
    return runs, lines, stars, dims


def gen_dim_scaling(files):
    o = Out()
    runs, lines, stars, dims = _dim_table(files["main"], False)
    o.table("**Criterion.**", lines)
    top = max(r.budget for r in runs)
    dd = max(dims)
    o.quote(f"ddpm moment KL at d = {dd}, NFE 100/200/400/800",
            " / ".join(f"{one(runs, sampler='ddpm', dim=dd, budget=b).m['moment_kl']:.3f}"
                       for b in (100, 200, 400, 800) if one(runs, sampler="ddpm", dim=dd, budget=b)))
    o.quote(f"rtk-mala acceptance at {top} NFE, d = 2 / 64 / 256 / 1024",
            " / ".join(f"{one(runs, sampler='rtk-mala', dim=d, budget=top).accept:.2f}"
                       for d in (2, 64, 256, 1024) if one(runs, sampler="rtk-mala", dim=d, budget=top)))
    for s, bs in (("rtk-mala", (top,)), ("rtk-uld", (400, top))):
        for b in bs:
            r = one(runs, sampler=s, dim=dd, budget=b)
            if r:
                o.quote(f"{s} moment KL at d = {dd}, {b} NFE", f"{r.m['moment_kl']:.3f}")
    se = [r.m["moment_kl_se"] for r in runs if r.dim == dd and r.sampler != "exact" and 0.005 <= r.m["moment_kl"] <= 0.08]
    o.quote(f"max SE of the moment KL at d = {dd} over runs with moment KL in [0.005, 0.08]", f"{max(se):.4f}" if se else "—")
    if "tuned" in files:
        truns, tl, tstars, _ = _dim_table(files["tuned"], True)
        o.table("### The same study with step sizes that adapt to d", tl)
        ttop = max(r.budget for r in truns)
        ad = [r for r in truns if r.sampler == "rtk-mala"]
        o.quote(f"adaptive rtk-mala acceptance at {ttop} NFE (all d)", rng([r.accept for r in ad if r.budget == ttop], "{:.2f}"))
        o.quote(f"adaptive rtk-mala moment KL at {ttop} NFE, max over d", f"{max(r.m['moment_kl'] for r in ad if r.budget == ttop):.4f}")
        o.quote("adaptive rtk-mala acceptance at 25–100 NFE (all d)", rng([r.accept for r in ad if 25 <= r.budget <= 100], "{:.2f}"))
        ul = [r for r in truns if r.sampler == "rtk-uld" and r.budget == ttop]
        o.quote(f"rtk-uld (tuned step) moment KL at {ttop} NFE (all d)", rng([r.m["moment_kl"] for r in ul], "{:.4f}"))
        stars.update(tstars)
    for d in dims:
        cand = sorted((v, k[0]) for k, v in stars.items() if k[1] == d)
        if cand:
            o.quote(f"cheapest NFE* at d = {d} (both studies)", ", ".join(f"{lab} {v:.1f}" for v, lab in cand[:3]))
    return o


def _fm_label(r, first_rtk, pixels=False):
    s = r.sampler
    if s == "ddpm" and "ddpm.grid" in r.kv:
        return f"ddpm ({r.kv['ddpm.grid']} grid)"
    if s.startswith("rtk"):
        seg = int(r.kv.get(f"{s}.segments", r.segments))
        if pixels:
            return f"{s} ({seg} {r.grid} segments)"
        return f"{s} ({seg} segments)" if s == first_rtk else f"{s} ({seg})"
    return s


def _fm_table(runs, order, header0="sampler", pixels=False):
    budgets = sorted({r.budget for r in runs if r.sampler != "exact"})
    first_rtk = next((s for s in order if s.startswith("rtk")), None)
    labels = []
    for s in order:
        if s == "exact":
            continue
        rs = sorted((r for r in runs if r.sampler == s),
                    key=lambda r: (int(r.kv.get(f"{s}.segments", 0) or 0), r.idx))
        for r in rs:
            lb = _fm_label(r, first_rtk, pixels)
            if lb not in labels:
                labels.append(lb)
    lines = [row([header0] + [f"NFE {b}" for b in budgets]), sep(len(budgets) + 1)]
    for lb in labels:
        cells = []
        for b in budgets:
            rr = [r for r in runs if r.budget == b and r.sampler != "exact" and _fm_label(r, first_rtk, pixels) == lb]
            r = rr[0] if rr else None
            cells.append(f"{r.acc:.3f} / {r.mode:.2f} / {sig3(r.m['frechet_distance'])}" if r else "")
        lines.append(row([lb] + cells))
    return lines


def gen_fashion_mnist(files):
    o = Out()
    runs, order = read(files["main"])
    o.table("**Study.** `experiments/fashion_mnist.ini`", _fm_table(runs, order))
    ex = one(runs, sampler="exact")
    if ex:
        o.sentence(f"Exact samples of the same size: accuracy {ex.acc:.4f} (floor {1 - ex.m['noise_floor']:.4f}), "
                   f"mode TV {ex.mode:.3f}, FD {ex.m['frechet_distance']:.3f} against a measured FD floor of "
                   f"{ex.m['frechet_floor']:.3f} ± {ex.m['frechet_floor_sd']:.3f} ({ex.r.frechet_sets} exact sets)")
    for s in ("rtk-mala", "rtk-mala-score"):
        r = [x for x in runs if x.sampler == s and x.budget == 500 and x.kv.get(f"{s}.segments") == "12"]
        if r:
            o.quote(f"{s}, 12 segments, 500 NFE: FD", f"{r[0].m['frechet_distance']:.3g}")
    if "segments" in files:
        sr, so = read(files["segments"])
        o.table("**Follow-up: RTK with shorter segments**", _fm_table(sr, so))
        e2 = one(sr, sampler="exact")
        if e2:
            o.quote("follow-up: exact row's FD (bitwise the main run's?)",
                    f"{e2.m['frechet_distance']:.3f}" + (f" (main: {ex.m['frechet_distance']:.3f}, identical: "
                                                          f"{e2.m['frechet_distance'] == ex.m['frechet_distance']})" if ex else ""))
        for s in ("rtk-mala", "rtk-mala-score"):
            r = [x for x in sr if x.sampler == s and x.budget == 500 and x.kv.get(f"{s}.segments") == "25"]
            if r:
                o.quote(f"{s}, 25 segments, 500 NFE: FD", f"{r[0].m['frechet_distance']:.3g}")
        if ex:
            r = [x for x in sr if x.sampler == "rtk-mala" and x.budget == 500 and x.kv.get("rtk-mala.segments") == "25"]
            if r:
                o.quote("rtk-mala 25 segments 500 NFE: FD above the floor (floor sd)",
                        f"{(r[0].m['frechet_distance'] - ex.m['frechet_floor']) / ex.m['frechet_floor_sd']:.1f}")
    if "n4000" in files:
        nr, _ = read(files["n4000"])
        ms = sorted((r for r in nr if r.sampler == "rtk-mala"), key=lambda r: int(r.kv.get("rtk-mala.segments", 0)))
        e = one(nr, sampler="exact")
        o.quote("4000 particles, 500 NFE: segments", "/".join(r.kv.get("rtk-mala.segments", "?") for r in ms))
        o.quote("  accuracy (exact samples)", "/".join(f"{r.acc:.3f}" for r in ms) + (f" ({e.acc:.3f})" if e else ""))
        o.quote("  FD (floor ± sd)", "/".join(f"{r.m['frechet_distance']:.2f}" for r in ms) +
                (f" ({e.m['frechet_floor']:.2f} ± {e.m['frechet_floor_sd']:.2f})" if e else ""))
    if "pixels" in files:
        pr, po = read(files["pixels"])
        o.table("**Pixel space (d = 784, K = 100)**", _fm_table(pr, po, "sampler (geometric grid)", pixels=True))
        pe = one(pr, sampler="exact")
        if pe:
            o.sentence(f"Exact samples: accuracy {pe.acc:.4f} (floor {1 - pe.m['noise_floor']:.4f}), mode TV {pe.mode:.3f}, "
                       f"FD {pe.m['frechet_distance']:.2f} (floor {pe.m['frechet_floor']:.2f} ± {pe.m['frechet_floor_sd']:.2f})")
    for key in ("px_init", "px_adapt", "px_geo", "px_geo100"):
        if key in files:
            xr, _ = read(files[key])
            for r in xr:
                if r.sampler == "exact":
                    o.quote(f"pixel follow-up {key}: exact FD floor", f"{r.m['frechet_floor']:.2f}")
                    continue
                what = " ".join(f"{k}={v}" for k, v in r.kv.items() if k != "run.nfe") or "-"
                o.quote(f"pixel follow-up {key}: {r.sampler} {what}: accuracy / FD",
                        f"{r.acc:.3f} / {r.m['frechet_distance']:.3g}")
    return o


def _score_runs(path):
    import rtk_scores as S
    with h5py.File(path, "r") as f:
        return S.collect(f)


def gen_score_error(files):
    import rtk_scores as S
    o = Out()
    runs = _score_runs(files["main"])
    o.table("Marginal accuracy ± 95% (exact samples of the same size:", S.accuracy_table(runs))
    ex = [r for r in runs if r["sampler"] == "exact"]
    if ex:
        e = ex[0]
        o.sentence(f"Marginal accuracy ± 95% (exact samples of the same size: {e['acc']:.4f} ± {1.96 * e['se']:.4f}, "
                   f"1 − floor = {e['floor']:.4f};")
    rows = S.plateau_rows(runs)
    eps = sorted({r["error"] for rw in rows for r in rw["pert"]})
    lines = [row(["sampler", "exact score", "mlp"] + [f"ε = {e:g}" for e in eps] + ["slope"]), sep(len(eps) + 4)]
    cell = lambda r: uminus(f"{r['excess']:+.4f}") + f" ({r['mode']:.3f})" if r is not None else "—"
    for rw in rows:
        pe = {r["error"]: r for r in rw["pert"]}
        sl = (f"{rw['slope']:.2f}" if math.isfinite(rw["slope"]) else "—") + \
             (f" ± {rw['slope_se']:.2f}" if math.isfinite(rw["slope_se"]) else "")
        lines.append(row([rw["sampler"], cell(rw["exact"]), cell(rw["mlp"])] + [cell(pe.get(e)) for e in eps] + [sl]))
    o.table("The plateau: excess TV", lines)
    top = max(r["budget"] for r in runs)
    for rw in rows:
        o.quote(f"{rw['sampler']}: excess TV at {top} NFE, exact / mlp / " + " / ".join(f"ε={e:g}" for e in eps),
                " / ".join(f"{r['excess']:+.4f}" if r else "—" for r in [rw["exact"], rw["mlp"]] +
                           [{x["error"]: x for x in rw["pert"]}.get(e) for e in eps]))
        o.quote(f"{rw['sampler']}: mode TV (same runs)",
                " / ".join(f"{r['mode']:.3f}" if r else "—" for r in [rw["exact"], rw["mlp"]] +
                           [{x["error"]: x for x in rw["pert"]}.get(e) for e in eps]))
    for r in runs:
        if r["sampler"] == "rtk-mala-score" and r["budget"] == top:
            o.quote(f"rtk-mala-score acceptance at {top} NFE, {r['label']}", f"{r['accept']:.3f}")
    for r in runs:
        if r["sampler"] == "rtk-mala-score" and r["model"] == "perturbed" and r["error"] >= 0.1:
            o.quote(f"rtk-mala-score accuracy, {r['label']}, {r['budget']} NFE", f"{r['acc']:.3f}")
    _score_error_quotes(o, runs)
    return o


def _score_error_quotes(o, runs):
    for r in runs:
        if r["model"] == "mlp" and "score_error" in r:
            t, e = r["times"], r["score_error"]
            o.quote(f"mlp measured score error (from {r['sampler']} {r['id']}): t > 0.1 max", f"{e[t > 0.1].max():.2g}")
            o.quote("  t <= 0.01 range", rng(list(e[(t <= 0.01) & (t > 0)]), "{:.2g}"))
            o.quote("  t = 0", f"{e[t == 0].max():.2g}" if (t == 0).any() else "—")
            break


def gen_score_error_fashion(files):
    import rtk_scores as S
    o = Out()
    runs = _score_runs(files["main"])
    o.table("### The same question on the Fashion-MNIST mixture", S.accuracy_table(runs))
    ex = [r for r in runs if r["sampler"] == "exact"]
    if ex:
        o.sentence(f"Marginal accuracy ± 95% (exact samples {ex[0]['acc']:.4f} ± {1.96 * ex[0]['se']:.4f}):")
    top = max(r["budget"] for r in runs)
    for r in runs:
        if r["budget"] == top and r["sampler"] != "exact":
            o.quote(f"{top} NFE {r['sampler']} {r['label']}: excess TV / mode TV / acceptance",
                    f"{r['excess']:+.3f} / {r['mode']:.2f} / {r['accept']:.3f}")
    if ex:
        o.quote("exact samples: mode TV", f"{ex[0]['mode']:.2f}")
    _score_error_quotes(o, runs)
    return o


def gen_solvers(files):
    import solvers_table as T
    o = Out()
    paths = [files["main"]] + ([files["smc"]] if "smc" in files else [])
    acc, tv, floor = T.load(paths)
    lines = T.tables(acc, tv, floor, heading="####")
    if floor:
        o.sentence(lines[0])
    blocks = _split_blocks(lines)
    for head, tbl in blocks:
        if tbl:
            o.table(head, tbl)
    if "taylor" in files:
        ta, _, _ = T.load([files["taylor"]])
        rows3 = [("ODE, 10 NFE", "dpm++3M", 10), ("SDE, 10 NFE", "dpm++3M SDE", 10), ("SDE, 20 NFE", "dpm++3M SDE", 20)]
        tl = [row(["3M run (karras grid)", "published weights", "`variant = taylor`"]), "|---|---|---|"]
        for lab, nm, n in rows3:
            k = (nm, "karras", n)
            tl.append(row([lab, f"{acc[k]:.3f}" if k in acc else "—", f"{ta[k]:.3f}" if k in ta else "—"]))
        o.table("On the karras grid at 10–20 NFE the published weights", tl)
        for k in sorted(ta):
            if k in acc:
                o.quote(f"3M {k[0]} {k[1]} {k[2]} NFE: published / taylor", f"{acc[k]:.3f} / {ta[k]:.3f}")
    for grid in ("uniform", "geometric", "karras"):
        ks = sorted((k for k in acc if k[0] == "rtk-mala" and k[1] == grid), key=lambda k: k[2])
        if not ks:
            continue
        o.quote(f"rtk-mala {grid}: accuracy range 50–200 NFE", rng([acc[k] for k in ks if 50 <= k[2] <= 200]))
        o.quote(f"rtk-mala {grid}: mode TV range (all NFE)", rng([tv[k] for k in ks]))
    return o


def _split_blocks(lines):
    """[(heading, table lines)] of a generated text: each table with the last
    markdown heading before it (or, without one, the last text line)"""
    out, head, text, tbl = [], None, None, []
    for ln in lines + [""]:
        if ln.startswith("|"):
            tbl.append(ln)
            continue
        if tbl:
            out.append((head or text, tbl))
            tbl = []
        if ln.startswith("#"):
            head = ln.strip()
        elif ln.strip():
            text = ln.strip()
    return out


def gen_fors(files):
    import fors_study as F
    o = Out()
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        F.main(files["mix"], files["dim"], None, files.get("linear"))
    lines = buf.getvalue().splitlines()
    for hh, tbl in _split_blocks(lines):
        if hh.startswith("### Default mixture (mog-grid, d = 10): every run"):
            lin = [ln for ln in tbl[2:] if ln.startswith("| fors B=1, κ=0 |") or "κ=0" in ln.split("|")[1]]
            if lin:
                o.table("### The plain linear tilt",
                        ["| budget | NFE (counted) | accuracy | mode TV | moment KL ± SE | acceptance | clip fraction |",
                         "|---|---|---|---|---|---|---|"] + ["|" + ln.split("|", 2)[2] for ln in lin])
            for ln in tbl[2:]:
                c = [x.strip() for x in ln.strip("|").split("|")]
                if c[0].startswith("fors") and "κ" not in c[0]:
                    o.quote(f"{c[0]} budget {c[1]}: NFE / acceptance / clip fraction", f"{c[2]} / {c[6]} / {c[7]}")
            continue
        o.table(hh, tbl)
    mix, _ = read(files["mix"])
    ex = one(mix, sampler="exact")
    if ex:
        lo, hi = ex.m["marginal_accuracy_ci95"]
        o.sentence(f"Exact samples of the same size: accuracy {ex.acc:.4f} (95% interval {lo:.4f}–{hi:.4f}), "
                   f"mode-weight TV {ex.mode:.4f}, moment KL {uminus(format(ex.m['moment_kl'], '+.4f'))} ± "
                   f"{ex.m['moment_kl_se']:.4f} (1 SE)")
        lo, hi = ex.m["mode_tv_ci95"]
        o.quote("exact samples: mode-weight TV 95% interval", f"{lo:.3f}–{hi:.3f}")
    if "linear" in files:
        lr, _ = read(files["linear"])
        le = one(lr, sampler="exact")
        if le:
            o.sentence(f"Exact samples of N = {le.N}: accuracy {le.acc:.4f}, moment-KL SE ≈ {le.m['moment_kl_se']:.3f}.")
    for B in ("0.5", "1", "2"):
        rs = [r for r in mix if r.sampler == "fors" and r.kv.get("fors.bound") == B]
        o.quote(f"fors B={B}: acceptance range", rng([r.accept for r in rs], "{:.2f}"))
        base = {r.budget: r.nfe for r in mix if r.sampler == "fors" and r.kv.get("fors.bound") == "0.5"}
        if B != "0.5":
            o.quote(f"fors B={B}: NFE / NFE(B=0.5) at equal budget", rng([r.nfe / base[r.budget] for r in rs if r.budget in base], "{:.1f}"))
    return o


# ------------------------------------------------------------------ registry

DOC = "docs/results.md"
SECTIONS = {
    # name: (generator, file keys ([k] optional), doc, section heading prefix, what the files are)
    "quickstart": (gen_quickstart, ["qs"], "README.md", "## What the demo shows",
                   "qs: experiments/quickstart.ini (4 runs)"),
    "paper_mog": (gen_paper_mog, ["main", "[early]"], DOC, "## The RTK paper's Figure 1(a)",
                  "main: experiments/paper_mog.ini; early: the DDIM/DPM-Solver++ stopped-early run"),
    "dim_scaling": (gen_dim_scaling, ["main", "[tuned]"], DOC, "## Dimensional scaling",
                    "main: experiments/dim_scaling.ini; tuned: the same with the second table's EXTRA options"),
    "fashion_mnist": (gen_fashion_mnist, ["main", "[segments]", "[n4000]", "[pixels]", "[px_init]", "[px_adapt]",
                                          "[px_geo]", "[px_geo100]"], DOC, "## Real data with an exact score",
                      "main: fashion_mnist.ini; segments: the 10/25-segment follow-up; n4000: 4000 particles, "
                      "25-200 segments; pixels: fashion_mnist_pixels.ini; px_*: the four pixel follow-ups"),
    "score_error": (gen_score_error, ["main"], DOC, "## Scores that are not exact",
                    "main: experiments/score_error.ini (151 runs)"),
    "score_error_fashion": (gen_score_error_fashion, ["main"], DOC, "### The same question on the Fashion-MNIST mixture",
                            "main: experiments/score_error_fashion.ini (49 runs)"),
    "solvers": (gen_solvers, ["main", "[smc]", "[taylor]"], DOC, "## The samplers practitioners run vs RTK",
                "main: solvers.ini without smc; smc: solvers.ini with run.samplers=smc; taylor: the variant=taylor run"),
    "fors": (gen_fors, ["mix", "dim", "[linear]"], DOC, "## FORS: first-order rejection sampling",
             "mix: fors.ini; dim: fors_dim.ini; linear: fors.ini with curvature = 0"),
}

# figures each section's files regenerate (docs/figures/*.png) and the command
FIGURES = {
    "quickstart": [],
    "paper_mog": [("accuracy_vs_nfe.png mode_tv_vs_nfe.png boundary_accuracy.png hist_x2.png",
                   "/usr/bin/python3 analysis/rtk_analyze.py results/paper_mog.h5 -o /tmp/pm && "
                   "cp /tmp/pm/{accuracy_vs_nfe,mode_tv_vs_nfe,boundary_accuracy,hist_x2}.png docs/figures/")],
    "dim_scaling": [("dim_scaling.png", "/usr/bin/python3 analysis/rtk_analyze.py results/dim_scaling.h5 -o /tmp/ds && "
                                        "cp /tmp/ds/scaling.png docs/figures/dim_scaling.png"),
                    ("dim_scaling_tuned.png", "/usr/bin/python3 analysis/rtk_analyze.py results/dim_scaling_tuned.h5 -o /tmp/dt && "
                                              "cp /tmp/dt/scaling.png docs/figures/dim_scaling_tuned.png")],
    "fashion_mnist": [("fashion_mnist_images.png fashion_mnist_frechet.png",
                       "/usr/bin/python3 analysis/rtk_analyze.py results/fashion_mnist.h5 -o /tmp/fm && "
                       "cp /tmp/fm/images_grid-geometric.png docs/figures/fashion_mnist_images.png && "
                       "cp /tmp/fm/frechet_vs_nfe.png docs/figures/fashion_mnist_frechet.png "
                       "(the images need stored samples: output.samples >= 10)"),
                      ("fashion_mnist_rtk_segments_frechet.png",
                       "/usr/bin/python3 analysis/rtk_analyze.py results/fmnist_rtk16.h5 -o /tmp/fs && "
                       "cp /tmp/fs/frechet_vs_nfe.png docs/figures/fashion_mnist_rtk_segments_frechet.png"),
                      ("fashion_mnist_pixels_images.png",
                       "/usr/bin/python3 analysis/rtk_analyze.py results/fashion_mnist_pixels.h5 -o /tmp/fp && "
                       "cp /tmp/fp/images_grid-geometric.png docs/figures/fashion_mnist_pixels_images.png")],
    "score_error": [("score_accuracy_vs_nfe.png score_plateau.png score_error_vs_t.png",
                     "/usr/bin/python3 analysis/rtk_analyze.py results/score_error.h5 -o /tmp/se && "
                     "cp /tmp/se/score_{accuracy_vs_nfe,plateau,error_vs_t}.png docs/figures/")],
    "score_error_fashion": [("score_fashion_accuracy_vs_nfe.png score_fashion_error_vs_t.png",
                             "/usr/bin/python3 analysis/rtk_analyze.py results/score_error_fashion.h5 -o /tmp/sf && "
                             "cp /tmp/sf/score_accuracy_vs_nfe.png docs/figures/score_fashion_accuracy_vs_nfe.png && "
                             "cp /tmp/sf/score_error_vs_t.png docs/figures/score_fashion_error_vs_t.png")],
    "solvers": [("solvers_vs_nfe.png", "/usr/bin/python3 analysis/solvers_table.py --figure docs/figures/solvers_vs_nfe.png "
                                       "results/solvers.h5 results/solvers_smc.h5")],
    "fors": [("fors.png", "/usr/bin/python3 analysis/fors_study.py results/fors.h5 results/fors_dim.h5 "
                          "docs/figures/fors.png results/fors_linear.h5")],
}


def assign(section, args):
    keys = SECTIONS[section][1]
    names = [k.strip("[]") for k in keys]
    files = {}
    for a in args:
        k, eq, p = a.partition("=")
        if eq and k in names:
            files[k] = p
    free = [a for a in args if not (a.partition("=")[1] and a.partition("=")[0] in names)]
    for a in free:
        k = next((n for n in names if n not in files), None)
        if k is None:
            raise SystemExit(f"results_tables: too many files for {section} (keys: {' '.join(keys)})")
        files[k] = a
    for k in keys:
        if not k.startswith("[") and k not in files:
            raise SystemExit(f"results_tables: {section} needs the file '{k}' (keys: {' '.join(keys)})")
    for k, p in files.items():
        if not os.path.isfile(p):
            raise SystemExit(f"results_tables: no such file: {p}")
    return files


def render(o):
    out = []
    for anchor, lines in o.tables:
        out += [f"<!-- after: {anchor} -->", ""] + lines + [""]
    if o.sentences:
        out += ["Sentences (checked against the text):", ""] + [f"- {s}" for s in o.sentences] + [""]
    if o.quotes:
        out += ["Numbers the prose quotes (not checked; update the prose by hand):", ""]
        out += [f"- {k}: {v}" for k, v in o.quotes] + [""]
    return "\n".join(out)


# ------------------------------------------------------------------ check

def cells(line):
    c = [x.strip() for x in line.strip().strip("|").split("|")]
    return ["---:" if re.fullmatch(r"-+:", x) else "---" if re.fullmatch(r":?-+", x) else x for x in c]


def section_text(doc_lines, heading):
    """the lines of the section whose heading starts with `heading` (to the next
    heading of the same or a higher level)"""
    lvl = len(heading) - len(heading.lstrip("#"))
    start = next((i for i, ln in enumerate(doc_lines) if ln.startswith(heading)), None)
    if start is None:
        return None
    end = len(doc_lines)
    for j in range(start + 1, len(doc_lines)):
        m = re.match(r"^(#+) ", doc_lines[j])
        if m and len(m.group(1)) <= lvl:
            end = j
            break
    return doc_lines[start:end]


def doc_table(sec, anchor):
    """the first table after the first line of sec that contains anchor"""
    i = next((k for k, ln in enumerate(sec) if anchor in ln), None)
    if i is None:
        return None
    j = i + (1 if not sec[i].startswith("|") else 0)
    while j < len(sec) and not sec[j].startswith("|"):
        j += 1
    tbl = []
    while j < len(sec) and sec[j].startswith("|"):
        tbl.append(sec[j])
        j += 1
    return tbl or None


def norm_ws(s):
    return re.sub(r"\s+", " ", s).strip()


def compare(section, o, doc_path):
    """list of difference messages (empty: identical)"""
    heading = SECTIONS[section][3]
    with open(doc_path, encoding="utf-8") as fh:
        doc = fh.read().splitlines()
    sec = section_text(doc, heading)
    if sec is None:
        return [f"no section '{heading}' in {doc_path}"], 0
    diffs, n = [], 0
    for anchor, lines in o.tables:
        n += 1
        dt = doc_table(sec, anchor)
        if dt is None:
            diffs.append(f"table after '{anchor}': not found in the docs")
            continue
        g, d = [cells(x) for x in lines], [cells(x) for x in dt]
        bad = []
        hdr = d[0]
        # rows matched by their first cell (and its occurrence: labels may repeat), header and rule by position
        def keyed(rows):
            seen, out = {}, {}
            for i, c in enumerate(rows):
                k = (i,) if i < 2 else (c[0], seen.setdefault(c[0], 0))
                if i >= 2:
                    seen[c[0]] += 1
                out[k] = c
            return out
        gk, dk = keyed(g), keyed(d)
        only_d = [k[0] for k in dk if k not in gk]
        only_g = [k[0] for k in gk if k not in dk]
        if only_d:
            bad.append(f"rows only in the docs: {', '.join(map(str, only_d))}")
        if only_g:
            bad.append(f"rows only generated: {', '.join(map(str, only_g))}")
        if [k for k in dk if k in gk] != [k for k in gk if k in dk]:
            bad.append("rows in another order")
        for k, dr in dk.items():
            gr = gk.get(k)
            if gr is None or gr == dr:
                continue
            if len(gr) != len(dr):
                bad.append(f"row '{dr[0]}': {len(dr)} cells in the docs, {len(gr)} generated")
                continue
            for j, (a, b) in enumerate(zip(dr, gr)):
                if a != b:
                    col = hdr[j] if j < len(hdr) else str(j)
                    bad.append(f"row '{dr[0]}', column '{col}': docs '{a}', generated '{b}'")
        if bad:
            diffs.append(f"table after '{anchor}': {len(bad)} difference(s)")
            diffs += ["    " + b for b in bad[:12]] + (["    ..."] if len(bad) > 12 else [])
    text = norm_ws(" ".join(sec))
    for s in o.sentences:
        n += 1
        if norm_ws(s) not in text:
            diffs.append(f"sentence not in the docs: '{s}'")
    return diffs, n


def main(argv):
    opt = {}
    for name in ("--doc", "--only"):
        if name in argv:
            i = argv.index(name)
            if i + 1 >= len(argv):
                print(__doc__)
                return 2
            opt[name] = argv[i + 1]
            argv = argv[:i] + argv[i + 2:]
    doc = opt.get("--doc")
    if not argv or argv[0] in ("-h", "--help"):
        print(__doc__)
        return 0 if argv else 2
    mode = argv[0]
    if mode == "sections":
        for name, (_, keys, d, head, what) in SECTIONS.items():
            print(f"{name:20s} files: {' '.join(keys):40s} {d}: '{head}'\n{'':20s} {what}")
        return 0
    if mode == "figures":
        for name, figs in FIGURES.items():
            print(f"{name}:" + (" (no figure)" if not figs else ""))
            for png, cmd in figs:
                print(f"  docs/figures/{png.replace(' ', ', docs/figures/')}\n      {cmd}")
        return 0
    if mode not in ("show", "check") or len(argv) < 2 or argv[1] not in SECTIONS:
        print(__doc__)
        return 2
    section = argv[1]
    files = assign(section, argv[2:])
    o = SECTIONS[section][0](files)
    if "--only" in opt:  # the tables whose anchor contains the string; no sentences
        o.tables = [t for t in o.tables if opt["--only"] in t[0]]
        o.sentences = []
        if not o.tables:
            print(f"results_tables: no table of {section} matches --only '{opt['--only']}'")
            return 2
    if mode == "show":
        print(render(o))
        return 0
    doc_path = doc or os.path.join(ROOT, SECTIONS[section][2])
    diffs, n = compare(section, o, doc_path)
    used = ", ".join(f"{k}={p}" for k, p in files.items())
    if diffs:
        print(f"{section}: DIFFERS from {os.path.relpath(doc_path)} ({used})")
        for d in diffs:
            print("  " + d)
        return 1
    print(f"{section}: identical ({len(o.tables)} table(s), {len(o.sentences)} sentence(s); {used})")
    return 0


if __name__ == "__main__":
    import signal
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)  # `| head` is not an error
    sys.exit(main(sys.argv[1:]))
