#!/usr/bin/python3
"""FORS study (experiments/fors.ini, experiments/fors_dim.ini): figure and tables.

usage: fors_study.py MIXTURE.h5 DIM.h5 OUT.png [LINEAR.h5]

LINEAR.h5 (optional): fors with curvature = 0 (the plain linear tilt, no
variance information) on the default mixture, drawn and tabulated as
"fors κ=0".

Prints markdown tables (stdout): per run of the default mixture the counted
NFE, marginal accuracy, mode-weight TV, moment KL (noise-corrected, with its
SE), acceptance and overall clip fraction; NFE*(delta), the smallest counted
NFE whose moment KL is <= delta (log-log interpolation between the two runs
around the first crossing; '>' = never within the sweep), for a ladder of
delta; and the dimensional-scaling runs.  Draws a 2x3 figure.
Only numpy, h5py, matplotlib (Agg)."""
import math
import sys

import h5py
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

DELTAS = [0.1, 0.03, 0.01, 0.003]


def s(v):
    return v.decode() if isinstance(v, bytes) else str(v)


def runs(path):
    out = []
    with h5py.File(path, "r") as f:
        for rid, g in f["runs"].items():
            if s(g.attrs.get("status", b"complete")) != "complete":
                continue
            m = g["metrics"]
            sweep = s(g.attrs.get("sweep", ""))
            kv = dict(p.split("=", 1) for p in sweep.split() if "=" in p)
            est = m["fors_estimates"][()] if "fors_estimates" in m else np.zeros(1)
            clip = m["fors_clipped"][()] if "fors_clipped" in m else np.zeros(1)
            r = dict(id=rid, sampler=s(g.attrs["sampler"]), kv=kv, nfe=float(m["nfe"][()]),
                     budget=int(g.attrs["nfe_budget"]), dim=int(g.attrs["dim"]), N=int(g.attrs["particles"]),
                     acc=float(m["marginal_accuracy"][()]), floor=1 - float(m["noise_floor"][()]),
                     mode=float(m["mode_tv"][()]), mkl=float(m["moment_kl"][()]), mkl_se=float(m["moment_kl_se"][()]),
                     accept=float(m["acceptance_overall"][()]),
                     clip=float(clip.sum() / est.sum()) if est.sum() else float("nan"),
                     clip_seg=np.where(est > 0, clip / np.maximum(est, 1), np.nan), times=g["times"][()],
                     exhausted=int(m["fors_exhausted"][()].sum()) if "fors_exhausted" in m else 0,
                     clipped=int(clip.sum()), segments=int(g.attrs["segments"]))
            out.append(r)
    return out


def label(r):
    if r["sampler"] == "fors":
        return f"fors B={r['kv'].get('fors.bound', '1')}"
    return r["sampler"]


def curves(rs, key=label):
    c = {}
    for r in rs:
        if r["sampler"] == "exact":
            continue
        c.setdefault(key(r), []).append(r)
    for k in c:
        c[k].sort(key=lambda r: r["nfe"])
    return c


def nfe_star(rs, delta):
    """smallest NFE with moment KL <= delta: log-log interpolation at the first crossing"""
    prev = None
    for r in rs:
        if r["mkl"] <= delta:
            if prev is None:
                return r["nfe"], "<="
            a, b = max(prev["mkl"], 1e-12), max(r["mkl"], 1e-12)
            fr = (math.log(a) - math.log(delta)) / (math.log(a) - math.log(b)) if a > b else 1.0
            return math.exp(math.log(prev["nfe"]) + fr * (math.log(r["nfe"]) - math.log(prev["nfe"]))), ""
        prev = r
    return rs[-1]["nfe"], ">"


def main(mix_path, dim_path, out_png, lin_path=None):
    mix, dim = runs(mix_path), runs(dim_path)
    if lin_path:
        for r in runs(lin_path):
            if r["sampler"] == "fors":
                r["kv"]["fors.bound"] = "%s, κ=0" % r["kv"].get("fors.bound", "1")
                mix.append(r)
    cm = curves(mix)
    order = sorted(cm, key=lambda k: (k.startswith("fors"), k))
    exact = [r for r in mix if r["sampler"] == "exact"]

    print("### Default mixture (mog-grid, d = 10): every run\n")
    print("| sampler | budget | NFE (counted) | accuracy | mode TV | moment KL ± SE | acceptance | clip fraction |")
    print("|---|---|---|---|---|---|---|---|")
    for r in exact:
        print(f"| exact | – | 0 | {r['acc']:.4f} | {r['mode']:.4f} | {r['mkl']:+.4f} ± {r['mkl_se']:.4f} | – | – |")
    for k in order:
        for r in cm[k]:
            acc = "–" if math.isnan(r["accept"]) else f"{r['accept']:.3f}"
            cl = "–" if math.isnan(r["clip"]) else f"{r['clip']:.2e}"
            print(f"| {k} | {r['budget']} | {r['nfe']:.1f} | {r['acc']:.4f} | {r['mode']:.4f} | "
                  f"{r['mkl']:+.4f} ± {r['mkl_se']:.4f} | {acc} | {cl} |")
    for metric, name in (("mkl", "moment KL"), ("mode", "mode-weight TV"), ("acc", "marginal accuracy")):
        print(f"\n### Default mixture: {name} by NFE budget (fors: counted NFE in parentheses)\n")
        bud = sorted({r["budget"] for k in order for r in cm[k] if not k.endswith("κ=0")})
        print("| sampler | " + " | ".join(str(b) for b in bud) + " |")
        print("|---|" + "---|" * len(bud))
        for r in exact:
            print(f"| exact samples | " + (f"{r[metric]:+.4f}" if metric == "mkl" else f"{r[metric]:.4f}") + " |" + " |" * (len(bud) - 1))
        for k in order:
            if k.endswith("κ=0"):
                continue
            cells = []
            for b in bud:
                rr = [r for r in cm[k] if r["budget"] == b]
                v = rr[0][metric] if rr else float("nan")
                c = "" if not rr else (f"{v:.3g}" if abs(v) >= 10 else f"{v:+.4f}" if metric == "mkl" else f"{v:.4f}")
                if rr and k.startswith("fors"):
                    c += f" ({rr[0]['nfe']:.0f})"
                cells.append(c)
            print(f"| {k} | " + " | ".join(cells) + " |")
    print("\n### NFE*(δ): smallest counted NFE with moment KL ≤ δ (default mixture)\n")
    print("| sampler | " + " | ".join(f"δ = {d:g}" for d in DELTAS) + " |")
    print("|---|" + "---|" * len(DELTAS))
    stars = {}
    for k in order:
        row = []
        for d in DELTAS:
            v, flag = nfe_star(cm[k], d)
            stars.setdefault(k, []).append((d, v, flag))
            row.append(f"{flag}{v:.0f}")
        print(f"| {k} | " + " | ".join(row) + " |")
    print("\n### Overflows per particle (fors_clipped summed over segments / N) and the NFE to push them below ε\n")
    print("Fits over the runs with ≥ 6 segments: log(overflows) against NFE (exponential) and against log NFE (power);")
    print("rms residuals in log units.\n")
    print("| sampler | overflows per particle (counted NFE) | exp fit: rate per NFE (resid) | power fit: slope (resid) | "
          "NFE for ε = 1 | ε = 0.1 | ε = 0.01 |")
    print("|---|---|---|---|---|---|---|")
    for k in order:
        if not k.startswith("fors") or k.endswith("κ=0"):
            continue
        rs = cm[k]
        x = np.array([r["nfe"] for r in rs])
        y = np.array([r["clipped"] / r["N"] for r in rs])
        sel = (y > 0) & (np.array([r["segments"] for r in rs]) >= 6)
        pe = np.polyfit(x[sel], np.log(y[sel]), 1)
        pp = np.polyfit(np.log(x[sel]), np.log(y[sel]), 1)
        re = float(np.std(np.log(y[sel]) - np.polyval(pe, x[sel])))
        rp = float(np.std(np.log(y[sel]) - np.polyval(pp, np.log(x[sel]))))
        cells = []
        for eps in (1, 0.1, 0.01):
            v = ""
            for i in range(1, len(x)):
                if y[i] <= eps < y[i - 1]:
                    fr = (math.log(y[i - 1]) - math.log(eps)) / (math.log(y[i - 1]) - math.log(y[i]))
                    v = f"{x[i - 1] + fr * (x[i] - x[i - 1]):.0f}"
                    break
            cells.append(v or f"> {x[-1]:.0f}")
        print(f"| {k} | " + ", ".join(f"{b:.3g} ({a:.0f})" for a, b in zip(x, y)) +
              f" | {pe[0]:.4f} ({re:.2f}) | {pp[0]:.2f} ({rp:.2f}) | " + " | ".join(cells) + " |")

    print("\n### Dimensional-scaling family (mog-random, K = 8 in a 2-D subspace): moment KL (counted NFE)\n")
    budgets = sorted({r["budget"] for r in dim if r["sampler"] != "exact"})
    print("| sampler | d | " + " | ".join(str(b) for b in budgets) + " |")
    print("|---|---|" + "---|" * len(budgets))
    for r in sorted((r for r in dim if r["sampler"] == "exact"), key=lambda r: r["dim"]):
        print(f"| exact | {r['dim']} | " + " | ".join(f"{r['mkl']:+.4f} ± {r['mkl_se']:.4f}" if b == budgets[0] else ""
                                                 for b in budgets) + " |")
    keys = sorted({(label(r), r["dim"]) for r in dim if r["sampler"] != "exact"},
                  key=lambda k: (k[0].startswith("fors"), k))
    for k in keys:
        cells = []
        for b in budgets:
            rr = [r for r in dim if (label(r), r["dim"]) == k and r["budget"] == b]
            if not rr:
                cells.append("")
                continue
            r = rr[0]
            v = f"{r['mkl']:.3g}" if abs(r["mkl"]) >= 10 else f"{r['mkl']:+.4f}"
            cells.append(v + (f" ({r['nfe']:.0f})" if r["sampler"] == "fors" else ""))
        print(f"| {k[0]} | {k[1]} | " + " | ".join(cells) + " |")

    if out_png is None:  # tables only (results_tables.py)
        return
    fig, ax = plt.subplots(2, 3, figsize=(17, 9.5))
    colors = {k: f"C{i}" for i, k in enumerate(order)}
    for k in order:
        x = [r["nfe"] for r in cm[k]]
        ax[0, 0].errorbar(x, [r["mkl"] for r in cm[k]], yerr=[2 * r["mkl_se"] for r in cm[k]],
                          marker="o", ms=3, color=colors[k], label=k, capsize=2)
        ax[0, 1].plot(x, [r["mode"] for r in cm[k]], marker="o", ms=3, color=colors[k], label=k)
    if exact:
        ax[0, 0].axhline(2 * exact[0]["mkl_se"], color="grey", ls=":", label="exact: 2 SE of moment KL")
        ax[0, 1].axhline(exact[0]["mode"], color="grey", ls=":", label="exact samples")
    for a, t in ((ax[0, 0], "default mixture: moment KL (noise-corrected) ± 2 SE"),
                 (ax[0, 1], "default mixture: mode-weight TV")):
        a.set_xscale("log")
        if a is ax[0, 0]:
            a.set_yscale("symlog", linthresh=1e-3)
            a.axhline(0, color="grey", lw=0.8)
            a.set_ylim(bottom=-3e-3)
        else:
            a.set_yscale("log")
        a.set_xlabel("NFE per particle (counted)")
        a.set_title(t, fontsize=10)
        a.legend(fontsize=7)
    # NFE*(delta)
    a = ax[0, 2]
    for k in order:
        pts = [(d, v) for d, v, f in stars[k] if not f]  # '>' and '<=' are bounds, not crossings
        if pts:
            a.plot([math.log(1 / d) for d, _ in pts], [v for _, v in pts], marker="o", color=colors[k], label=k)
    a.set_yscale("log")
    a.set_xlabel("log(1/δ)   (δ: moment-KL target)")
    a.set_ylabel("NFE*(δ)")
    a.set_title("NFE to reach moment KL ≤ δ (default mixture)", fontsize=10)
    a.legend(fontsize=7)
    # dimension family
    cd = curves(dim, key=lambda r: (label(r), r["dim"]))
    a = ax[1, 0]
    samplers = sorted({k[0] for k in cd}, key=lambda k: (k.startswith("fors"), k))
    ls = {2: ":", 8: "--", 32: "-"}
    for i, sname in enumerate(samplers):
        for dd in sorted({k[1] for k in cd if k[0] == sname}):
            rs = cd[(sname, dd)]
            a.plot([r["nfe"] for r in rs], [r["mkl"] for r in rs], ls=ls.get(dd, "-"), marker="o", ms=3,
                   color=f"C{i}", label=f"{sname} d={dd}")
    a.set_xscale("log")
    a.set_yscale("symlog", linthresh=1e-3)
    a.axhline(0, color="grey", lw=0.8)
    a.set_ylim(bottom=-3e-3)
    a.set_xlabel("NFE per particle (counted)")
    a.set_title("dimensional-scaling family: moment KL (fors d = 8, 32: the same counted NFE)", fontsize=10)
    a.legend(fontsize=6, ncol=2)
    # clip fraction per segment (fors, default mixture)
    a = ax[1, 1]
    for k in order:
        if not k.startswith("fors"):
            continue
        for r in cm[k][1::3]:
            tt = r["times"][1:]
            a.plot(np.maximum(tt, 1e-4), np.maximum(r["clip_seg"], 1e-6), marker=".", color=colors[k], alpha=0.8,
                   label=f"{k}, NFE {r['nfe']:.0f}")
    a.set_xscale("log")
    a.set_yscale("log")
    a.set_xlabel("segment end time t (0 plotted at 1e-4)")
    a.set_ylabel("overflow (clip) fraction of the estimates")
    a.set_title("where |W| leaves the window: per segment (1e-6 = none)", fontsize=10)
    a.invert_xaxis()
    a.legend(fontsize=6)
    # bias vs clip fraction
    a = ax[1, 2]
    for k in order:
        if not k.startswith("fors"):
            continue
        rs = [r for r in cm[k] if not math.isnan(r["clip"])]
        a.errorbar([max(r["clip"], 1e-7) for r in rs], [r["mkl"] for r in rs], yerr=[2 * r["mkl_se"] for r in rs],
                   marker="o", ms=3, ls="none", color=colors[k], label=k, capsize=2)
    a.axhline(0, color="grey", lw=0.8)
    a.set_xscale("log")
    a.set_yscale("symlog", linthresh=1e-3)
    a.set_xlabel("overall clip fraction")
    a.set_ylabel("moment KL ± 2 SE")
    a.set_title("consequence of overflows: bias vs clip fraction", fontsize=10)
    a.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(out_png, dpi=110)
    print(f"\nwrote {out_png}", file=sys.stderr)


if __name__ == "__main__":
    if len(sys.argv) not in (4, 5):
        print(__doc__)
        sys.exit(2)
    main(*sys.argv[1:])
