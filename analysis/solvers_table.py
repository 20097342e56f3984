#!/usr/bin/env python3
"""Tables of the practical-solver study (experiments/solvers.ini):
marginal accuracy and mode-weight TV per sampler, grid and NFE, and per
(grid, NFE) the best non-RTK solver against rtk-mala.
usage: solvers_table.py [--figure OUT.png] RESULTS.h5 [more.h5 ...]  (markdown on stdout)"""
import sys
from collections import defaultdict

import h5py


def label(sampler, sweep):
    parts = dict(p.split("=", 1) for p in sweep.split() if "=" in p)
    name = sampler
    if sampler == "dpm-solver++":
        name = "dpm++%sM%s" % (parts.get("dpm-solver++.order", "2"), " SDE" if parts.get("dpm-solver++.sde") == "true" else "")
    return name, parts.get("time.grid", "-"), int(float(parts.get("run.nfe", "0")))


def figure(out, acc, tv, floor):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    grids = [g for g in ("uniform", "geometric", "karras") if any(k[1] == g for k in acc)]
    names = sorted({k[0] for k in acc})
    fig, axes = plt.subplots(2, len(grids), figsize=(5 * len(grids), 8), sharex=True)
    for j, grid in enumerate(grids):
        for i, nm in enumerate(names):
            ks = sorted((k for k in acc if k[0] == nm and k[1] == grid), key=lambda k: k[2])
            if not ks:
                continue
            x = [k[2] for k in ks]
            style = dict(marker="os^Dv<>ph*"[i % 10], ms=4, lw=2.2 if nm.startswith("rtk") else 1.2,
                         ls="-" if nm.startswith("rtk") else "--" if "SDE" in nm else "-")
            axes[0, j].plot(x, [acc[k] for k in ks], label=nm, **style)
            axes[1, j].plot(x, [tv[k] for k in ks], label=nm, **style)
        if floor:
            axes[0, j].axhline(floor[0], color="k", lw=0.8, ls=":")
            axes[1, j].axhline(floor[1], color="k", lw=0.8, ls=":")
        axes[0, j].set_title(f"grid = {grid}")
        axes[0, j].set_ylim(0, 1)
        axes[1, j].set_yscale("log")
        axes[1, j].set_xscale("log")
        axes[1, j].set_xlabel("NFE per particle")
    axes[0, 0].set_ylabel("marginal accuracy (exact samples: dotted)")
    axes[1, 0].set_ylabel("mode-weight TV")
    axes[0, -1].legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    fig.savefig(out, dpi=110)


def load(paths):
    """{(name, grid, nfe): accuracy}, {...: mode TV} and (accuracy, mode TV) of the exact run"""
    acc, tv, floor = {}, {}, None
    for path in paths:
        with h5py.File(path, "r") as f:
            for g in f["runs"].values():
                s = g.attrs["sampler"]
                s = s.decode() if isinstance(s, bytes) else s
                sw = g.attrs.get("sweep", b"")
                sw = sw.decode() if isinstance(sw, bytes) else sw
                m = g["metrics"]
                if s == "exact":
                    floor = (m["marginal_accuracy"][()], m["mode_tv"][()])
                    continue
                key = label(s, sw)
                acc[key] = m["marginal_accuracy"][()]
                tv[key] = m["mode_tv"][()]
    return acc, tv, floor


def tables(acc, tv, floor, heading="###"):
    """the markdown tables as a list of lines"""
    out = []
    names = sorted({k[0] for k in acc})
    grids = [g for g in ("uniform", "geometric", "karras") if any(k[1] == g for k in acc)]
    nfes = sorted({k[2] for k in acc})
    if floor:
        out += [f"exact samples (same N): accuracy {floor[0]:.4f}, mode-TV {floor[1]:.4f}", ""]
    for grid in grids:
        out += [f"{heading} grid = {grid}: marginal accuracy / mode-weight TV", ""]
        out.append("| sampler | " + " | ".join(str(n) for n in nfes) + " |")
        out.append("|---|" + "---|" * len(nfes))
        for nm in names:
            cells = []
            for n in nfes:
                k = (nm, grid, n)
                cells.append(f"{acc[k]:.3f} / {tv[k]:.3f}" if k in acc else "")
            out.append(f"| {nm} | " + " | ".join(cells) + " |")
        out.append("")
    out += [f"{heading} best practical solver (any grid) vs rtk-mala (its best grid), per NFE", ""]
    out.append("| NFE | best practical (accuracy) | accuracy | mode-TV | rtk-mala accuracy | rtk-mala mode-TV | best practical (mode-TV) | mode-TV |")
    out.append("|---|---|---|---|---|---|---|---|")
    for n in nfes:
        prac = [(acc[k], k) for k in acc if k[2] == n and not k[0].startswith("rtk")]
        rtk = [(acc[k], k) for k in acc if k[2] == n and k[0] == "rtk-mala"]
        if not prac or not rtk:
            continue
        a, kb = max(prac)
        ar, kr = max(rtk)
        tvb, kt = min((tv[k], k) for _, k in prac)
        out.append(f"| {n} | {kb[0]} ({kb[1]}) | {a:.4f} | {tv[kb]:.4f} | {ar:.4f} ({kr[1]}) | {tv[kr]:.4f} | {kt[0]} ({kt[1]}) | {tvb:.4f} |")
    return out


def main(paths):
    out = None
    if paths and paths[0] == "--figure":
        out, paths = paths[1], paths[2:]
    acc, tv, floor = load(paths)
    if out:
        figure(out, acc, tv, floor)
    print("\n".join(tables(acc, tv, floor)))


if __name__ == "__main__":
    main(sys.argv[1:])
