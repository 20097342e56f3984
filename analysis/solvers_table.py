#!/usr/bin/env python3
"""Tables of the practical-solver study (experiments/solvers.ini):
marginal accuracy and mode-weight TV per sampler, grid and NFE, and per
(grid, NFE) the best non-RTK solver against rtk-mala.
usage: solvers_table.py RESULTS.h5 [more.h5 ...]  (markdown on stdout)"""
import sys
from collections import defaultdict

import h5py


def label(sampler, sweep):
    parts = dict(p.split("=", 1) for p in sweep.split() if "=" in p)
    name = sampler
    if sampler == "dpm-solver++":
        name = "dpm++%sM%s" % (parts.get("dpm-solver++.order", "2"), " SDE" if parts.get("dpm-solver++.sde") == "true" else "")
    return name, parts.get("time.grid", "-"), int(float(parts.get("run.nfe", "0")))


def main(paths):
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
    names = sorted({k[0] for k in acc})
    grids = [g for g in ("uniform", "geometric", "karras") if any(k[1] == g for k in acc)]
    nfes = sorted({k[2] for k in acc})
    if floor:
        print(f"exact samples (same N): accuracy {floor[0]:.4f}, mode-TV {floor[1]:.4f}\n")
    for grid in grids:
        print(f"### grid = {grid}: marginal accuracy / mode-weight TV\n")
        print("| sampler | " + " | ".join(str(n) for n in nfes) + " |")
        print("|---|" + "---|" * len(nfes))
        for nm in names:
            cells = []
            for n in nfes:
                k = (nm, grid, n)
                cells.append(f"{acc[k]:.3f} / {tv[k]:.3f}" if k in acc else "")
            print(f"| {nm} | " + " | ".join(cells) + " |")
        print()
    print("### best practical solver (any grid) vs rtk-mala (its best grid), per NFE\n")
    print("| NFE | best practical (accuracy) | accuracy | mode-TV | rtk-mala accuracy | rtk-mala mode-TV | best practical (mode-TV) | mode-TV |")
    print("|---|---|---|---|---|---|---|---|")
    for n in nfes:
        prac = [(acc[k], k) for k in acc if k[2] == n and not k[0].startswith("rtk")]
        rtk = [(acc[k], k) for k in acc if k[2] == n and k[0] == "rtk-mala"]
        if not prac or not rtk:
            continue
        a, kb = max(prac)
        ar, kr = max(rtk)
        tvb, kt = min((tv[k], k) for _, k in prac)
        print(f"| {n} | {kb[0]} ({kb[1]}) | {a:.4f} | {tv[kb]:.4f} | {ar:.4f} ({kr[1]}) | {tv[kr]:.4f} | {kt[0]} ({kt[1]}) | {tvb:.4f} |")


if __name__ == "__main__":
    main(sys.argv[1:])
