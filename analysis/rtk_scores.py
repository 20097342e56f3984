"""Figures and tables of studies with score models that are not exact
(`[score] model = exact | mlp | perturbed`, issue 9), called by rtk_analyze.py.

  score_accuracy_vs_nfe.png   marginal accuracy vs NFE, one panel per score model, one line per sampler
  score_plateau.png           accuracy plateau (excess TV at the largest NFE) vs score.error per sampler,
                              log-log, with the fitted slope of the score-induced excess
  score_error_vs_t.png        measured relative score error E|s^-s|^2/E|s|^2 vs t of each model
  score_table.md              accuracy +- 95% per sampler x score model x NFE; plateau table with slopes
Skipped (with a note) when the file has no run with a non-exact score.
"""
import math
import os

import numpy as np

import rtk_results as R


def _score_of(g):
    """(model, error) of a run group from its resolved configuration"""
    model = R.sval(g.attrs.get("score", "exact"))
    err = float("nan")
    if model == "perturbed" and "config" in g:
        cp = R.parse_ini(R.sval(g["config"][()]))
        if cp.has_section("score") and cp.has_option("score", "error"):
            err = float(cp.get("score", "error"))
    return model, err


def _label(model, err):
    return f"perturbed ε={err:g}" if model == "perturbed" else model


def collect(f):
    runs = []
    for rid, g in f["runs"].items():
        if R.sval(g.attrs.get("status", "")) != "complete":
            continue
        m = g["metrics"]
        model, err = _score_of(g)
        r = {"id": rid, "sampler": R.sval(g.attrs["sampler"]), "budget": int(g.attrs.get("nfe_budget", 0)),
             "nfe": float(g.attrs.get("nfe", 0)), "model": model, "error": err, "label": _label(model, err),
             "acc": float(m["marginal_accuracy"][()]), "se": float(m["marginal_accuracy_se"][()]),
             "excess": float(m["excess_tv"][()]), "floor": 1 - float(m["noise_floor"][()]),
             "mode": float(m["mode_tv"][()]),
             "accept": float(m["acceptance_overall"][()]) if "acceptance_overall" in m else float("nan")}
        if "score_error" in m:
            r["times"] = g["times"][()]
            r["score_error"] = m["score_error"][()]
            r["score_error_se"] = m["score_error_se"][()]
        runs.append(r)
    return runs


def _model_order(runs):
    labels = {(r["model"] != "exact", r["model"] != "mlp", r["error"] if r["model"] == "perturbed" else 0, r["label"])
              for r in runs if r["sampler"] != "exact"}
    return [x[-1] for x in sorted(labels)]


def _samplers(runs):
    seen = []
    for r in runs:
        if r["sampler"] != "exact" and r["sampler"] not in seen:
            seen.append(r["sampler"])
    return seen


def fig_accuracy(runs, outdir, plt):
    labels, samplers = _model_order(runs), _samplers(runs)
    exact = [r for r in runs if r["sampler"] == "exact"]
    n = len(labels)
    ncol = min(3, n)
    nrow = (n + ncol - 1) // ncol
    fig, axes = plt.subplots(nrow, ncol, figsize=(4.6 * ncol, 3.7 * nrow), sharex=True, sharey=True, squeeze=False)
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    lo = min(r["acc"] for r in runs)
    for i, lab in enumerate(labels):
        ax = axes[i // ncol][i % ncol]
        for j, s in enumerate(samplers):
            rs = sorted((r for r in runs if r["sampler"] == s and r["label"] == lab), key=lambda r: r["budget"])
            if not rs:
                continue
            x = [r["budget"] for r in rs]
            y = np.array([r["acc"] for r in rs])
            e = 1.96 * np.array([r["se"] for r in rs])
            ax.errorbar(x, y, yerr=e, marker="os^Dv<>"[j % 7], ms=4, capsize=2, lw=1.3, color=colors[j % len(colors)],
                        label=s)
        for r in exact[:1]:
            ax.axhspan(r["acc"] - 1.96 * r["se"], r["acc"] + 1.96 * r["se"], color="0.85", zorder=0)
            ax.axhline(r["acc"], color="0.4", lw=0.8, ls="--", label="exact samples (±95%)")
        ax.set_xscale("log")
        budgets = sorted({r["budget"] for r in runs if r["sampler"] != "exact"})
        ax.set_xticks(budgets)
        ax.set_xticklabels([str(b) for b in budgets])
        ax.xaxis.set_minor_locator(plt.NullLocator())
        ax.set_title(f"score: {lab}")
        ax.grid(alpha=0.3)
        if i % ncol == 0:
            ax.set_ylabel("marginal accuracy")
        if i + ncol >= n:  # no panel below: this one carries the x axis
            ax.set_xlabel("NFE per particle")
            ax.xaxis.set_tick_params(labelbottom=True)
    for i in range(n, nrow * ncol):
        axes[i // ncol][i % ncol].axis("off")
    axes[0][0].set_ylim(max(lo - 0.02, 0), 1.0)
    h, lb = axes[0][0].get_legend_handles_labels()
    fig.legend(h, lb, loc="lower center", ncol=len(lb), frameon=False)
    fig.suptitle("Marginal accuracy vs NFE per score model (metrics always against the exact target)")
    fig.tight_layout(rect=(0, 0.05, 1, 0.97))
    path = os.path.join(outdir, "score_accuracy_vs_nfe.png")
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return [path]


def plateau_rows(runs):
    """per sampler: the largest budget's excess TV for exact, mlp and each epsilon, and the fitted slope
    of log(score-induced excess) vs log(epsilon)"""
    rows = []
    for s in _samplers(runs):
        rs = [r for r in runs if r["sampler"] == s]
        top = max(r["budget"] for r in rs)
        at = {r["label"]: r for r in rs if r["budget"] == top}
        ex = at.get("exact")
        pert = sorted((r for r in at.values() if r["model"] == "perturbed"), key=lambda r: r["error"])
        slope = se = float("nan")
        pts = []
        if ex is not None:
            for r in pert:
                d = r["excess"] - ex["excess"]
                dse = math.hypot(r["se"], ex["se"])
                if d > 2 * dse:  # resolved above the exact-score plateau
                    pts.append((math.log(r["error"]), math.log(d)))
        if len(pts) >= 2:
            x, y = np.array(pts).T
            A = np.vstack([x, np.ones_like(x)]).T
            coef, res, *_ = np.linalg.lstsq(A, y, rcond=None)
            slope = coef[0]
            if len(pts) > 2:
                s2 = float(np.sum((y - A @ coef) ** 2)) / (len(pts) - 2)
                se = math.sqrt(s2 / np.sum((x - x.mean()) ** 2))
            fit = coef
        else:
            fit = None
        rows.append({"sampler": s, "nfe": top, "exact": ex, "mlp": at.get("mlp"), "pert": pert, "slope": slope,
                     "slope_se": se, "fit": fit, "npts": len(pts)})
    return rows


def fig_plateau(runs, outdir, plt):
    rows = plateau_rows(runs)
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    fig, ax = plt.subplots(figsize=(7.2, 4.8))
    for j, row in enumerate(rows):
        c = colors[j % len(colors)]
        if not row["pert"]:
            continue
        eps = np.array([r["error"] for r in row["pert"]])
        exc = np.array([r["excess"] for r in row["pert"]])
        se = np.array([1.96 * r["se"] for r in row["pert"]])
        lab = f"{row['sampler']}"
        if math.isfinite(row["slope"]):
            lab += f": slope {row['slope']:.2f}" + (f" ± {row['slope_se']:.2f}" if math.isfinite(row["slope_se"]) else "")
        ax.errorbar(eps, np.maximum(exc, 1e-4), yerr=se, marker="os^Dv<>"[j % 7], color=c, capsize=2, lw=1.2,
                    label=lab)
        if row["exact"] is not None:
            ax.axhline(max(row["exact"]["excess"], 1e-4), color=c, ls=":", lw=1)
            if row["fit"] is not None:
                xx = np.geomspace(eps.min(), eps.max(), 20)
                ax.plot(xx, row["exact"]["excess"] + np.exp(row["fit"][1]) * xx ** row["fit"][0], color=c, lw=0.8,
                        ls="--")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("score.error  ε = E|ŝ−s|² / E|s|²  (perturbed score)")
    ax.set_ylabel(f"excess TV at the largest NFE ({rows[0]['nfe'] if rows else ''})")
    ax.set_title("Accuracy plateau vs score error\n(dotted: exact score; dashed: exact + fitted c·ε^slope)")
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=8)
    fig.tight_layout()
    path = os.path.join(outdir, "score_plateau.png")
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return [path]


def fig_error_vs_t(runs, outdir, plt):
    best = {}
    for r in runs:
        if "score_error" in r and (r["label"] not in best or len(r["times"]) > len(best[r["label"]]["times"])):
            best[r["label"]] = r
    fig, ax = plt.subplots(figsize=(7.2, 4.5))
    for lab in _model_order(runs):
        if lab not in best:
            continue
        r = best[lab]
        t, e, se = r["times"], r["score_error"], r["score_error_se"]
        tt = np.where(t > 0, t, np.nan)
        line, = ax.plot(tt, e, lw=1.2, label=f"{lab} (from {r['sampler']}, {r['id']})")
        c = line.get_color()
        ax.fill_between(tt, np.maximum(e - 1.96 * se, 1e-12), e + 1.96 * se, color=c, alpha=0.25, lw=0)
        if r["model"] == "perturbed":
            ax.axhline(r["error"], color=c, ls=":", lw=0.8)
        if t[-1] == 0:
            ax.plot([t[t > 0].min() / 2], [e[-1]], marker="<", color=c)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("t (the marker at the left edge: t = 0)")
    ax.set_ylabel("measured E|ŝ−s|² / E|s|² under p_t (±95%)")
    ax.set_title("Measured relative score error on exact samples of p_t")
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=8)
    fig.tight_layout()
    path = os.path.join(outdir, "score_error_vs_t.png")
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return [path]


def accuracy_table(runs):
    """accuracy ± 95% per sampler x score model (rows) and NFE budget (columns): markdown lines"""
    labels, samplers = _model_order(runs), _samplers(runs)
    budgets = sorted({r["budget"] for r in runs if r["sampler"] != "exact"})
    lines = ["| sampler | score | " + " | ".join(f"NFE {b}" for b in budgets) + " |",
             "|---|---|" + "---:|" * len(budgets)]
    for s in samplers:
        for lab in labels:
            cells = []
            for b in budgets:
                rr = [r for r in runs if r["sampler"] == s and r["label"] == lab and r["budget"] == b]
                cells.append(f"{rr[0]['acc']:.4f} ± {1.96 * rr[0]['se']:.4f}" if rr else "—")
            lines.append(f"| {s} | {lab} | " + " | ".join(cells) + " |")
    return lines


def write_table(runs, outdir):
    lines = accuracy_table(runs)
    ex = [r for r in runs if r["sampler"] == "exact"]
    if ex:
        lines.append(f"\nexact samples: accuracy {ex[0]['acc']:.4f} ± {1.96 * ex[0]['se']:.4f}; "
                     f"1 − floor {ex[0]['floor']:.4f}")
    rows = plateau_rows(runs)
    eps = sorted({r["error"] for row in rows for r in row["pert"]})
    lines += ["", "Plateau: excess TV at the largest NFE; slope of log(excess − exact-score excess) vs log ε "
                  "(points resolved above 2 SE):", "",
              "| sampler | NFE | exact score | mlp | " + " | ".join(f"ε={e:g}" for e in eps) + " | slope |",
              "|---|---:|---:|---:|" + "---:|" * len(eps) + "---:|"]
    for row in rows:
        f = lambda r: f"{r['excess']:+.4f}" if r is not None else "—"
        pe = {r["error"]: r for r in row["pert"]}
        sl = f"{row['slope']:.2f}" if math.isfinite(row["slope"]) else "—"
        if math.isfinite(row["slope_se"]):
            sl += f" ± {row['slope_se']:.2f}"
        sl += f" ({row['npts']} pts)"
        lines.append(f"| {row['sampler']} | {row['nfe']} | {f(row['exact'])} | {f(row['mlp'])} | "
                     + " | ".join(f(pe.get(e)) for e in eps) + f" | {sl} |")
    path = os.path.join(outdir, "score_table.md")
    with open(path, "w") as fh:
        fh.write("\n".join(lines) + "\n")
    return [path]


def score_outputs(f, outdir, plt, note):
    runs = collect(f)
    if not any(r["model"] != "exact" for r in runs):
        note("no run with a non-exact score: score figures skipped")
        return []
    out = write_table(runs, outdir)
    out += fig_accuracy(runs, outdir, plt)
    out += fig_plateau(runs, outdir, plt)
    out += fig_error_vs_t(runs, outdir, plt)
    return out
