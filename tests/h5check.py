#!/usr/bin/python3
"""Checks on rtkbench results files used by CTest.

  h5check.py contract FILE           the SPEC §6 minimum content is present
  h5check.py same FILE_A FILE_B      samples, boundaries and integer metrics bitwise equal
  h5check.py quickstart FILE         the README's claims about experiments/quickstart.ini
  h5check.py metrics OLD NEW         every run of NEW has a run of OLD with the same sampler and sweep point, and
                                     all their metrics but the timings are bitwise equal (NEW may be a subset of
                                     OLD's sweep: the tables behind docs/results.md stand after a change)
  h5check.py agree FILE_A FILE_B [SAMPLER=TOL ...]
                                     same study on two backends/precisions: marginal accuracy, mode TV and
                                     acceptance agree within the 95% interval of their difference; the NFE
                                     counted are equal (MALA with a radius: within the 95% bound of a
                                     difference of two counts of passed proposals); the named samplers'
                                     samples agree to TOL (max |a - b| / (1 + max |a|))
"""
import configparser
import sys

import h5py
import numpy as np

TIMING = {"wall_time", "seconds_per_segment", "nfe_per_second", "particles_per_second", "time_phases"}


def attr(obj, name):
    v = obj.attrs[name]
    return v.decode() if isinstance(v, bytes) else v


def contract(path):
    errors = []
    with h5py.File(path, "r") as f:
        for a in ["format", "format_version", "software_version", "created", "mpi_ranks", "command_line"]:
            if a not in f.attrs:
                errors.append(f"root attribute {a} missing")
        if attr(f, "format") != "rtkbench":
            errors.append("format is not rtkbench")
        for p in ["config", "target/weights", "target/means", "target/variances"]:
            if p not in f:
                errors.append(f"/{p} missing")
        K, d = f["target/means"].shape
        if f["target/weights"].shape != (K,) or f["target/variances"].shape != (K, d):
            errors.append("target shapes inconsistent")
        if abs(f["target/weights"][()].sum() - 1) > 1e-12:
            errors.append("target weights do not sum to 1")
        runs = f["runs"]
        if len(runs) == 0:
            errors.append("no runs")
        for rid, g in runs.items():
            for a in ["sampler", "nfe", "particles", "seed", "status"]:
                if a not in g.attrs:
                    errors.append(f"{rid}: attribute {a} missing")
            if attr(g, "status") != "complete":
                errors.append(f"{rid}: status {attr(g, 'status')}")
            N = int(attr(g, "particles"))
            S = int(attr(g, "segments"))
            dim = int(attr(g, "dim"))
            M = int(g.attrs.get("samples_stored", N))
            if not 0 <= M <= N or g["samples"].shape != (M, dim) or g["samples"].dtype != np.float64:
                errors.append(f"{rid}: samples shape {g['samples'].shape}")
            if g["times"].shape != (S + 1,):
                errors.append(f"{rid}: times shape")
            if "boundaries" in g:
                b = g["boundaries"]
                if b.shape != (S + 1, N, dim):
                    errors.append(f"{rid}: boundaries shape {b.shape}")
                elif not np.array_equal(b[S, :M], g["samples"][()]):
                    errors.append(f"{rid}: last boundary differs from samples")
            m = g["metrics"]
            if "boundary_accuracy" in m and m["boundary_accuracy"][-1] != m["marginal_accuracy"][()]:
                errors.append(f"{rid}: boundary_accuracy at the last time differs from marginal_accuracy")
            if "trace" in g and "boundaries" in g:
                # the last inner state of every segment is the particle at the next grid time
                ids, st, seg = g["trace/ids"][()], g["trace/states"][()], g["trace/segment"][()]
                for k in range(S):
                    last = np.nonzero(seg == k)[0][-1]
                    if not np.array_equal(st[:, last, :], g["boundaries"][k + 1][ids]):
                        errors.append(f"{rid}: trace of segment {k} does not end at boundary {k + 1}")
            for k in ["marginal_accuracy", "marginal_tv", "noise_floor", "excess_tv", "mode_tv", "histograms",
                      "bin_probs", "acceptance", "nfe", "nfe_total", "wall_time", "nfe_per_second"]:
                if k not in m:
                    errors.append(f"{rid}: metrics/{k} missing")
            h = m["histograms"][()]
            if not (h.sum(axis=1) == N).all():
                errors.append(f"{rid}: histogram rows do not sum to N")
            if int(m["nfe_total"][()]) != round(float(attr(g, "nfe")) * N):
                errors.append(f"{rid}: nfe_total inconsistent with nfe")
            # the stored accuracy is recomputable from the stored histogram and probabilities
            tv = 0.5 * np.abs(h / N - m["bin_probs"][()]).sum(axis=1)
            if abs((1 - tv.mean()) - m["marginal_accuracy"][()]) > 1e-12:
                errors.append(f"{rid}: marginal_accuracy not reproducible from histograms")
    return errors


def same(a, b):
    errors = []
    with h5py.File(a, "r") as fa, h5py.File(b, "r") as fb:
        ra, rb = fa["runs"], fb["runs"]
        if sorted(ra) != sorted(rb):
            return [f"different runs: {sorted(ra)} vs {sorted(rb)}"]
        for rid in ra:
            ga, gb = ra[rid], rb[rid]
            for ds in ["samples", "boundaries", "times"]:
                if (ds in ga) != (ds in gb):
                    errors.append(f"{rid}/{ds} present in one file only")
                elif ds in ga and not np.array_equal(ga[ds][()], gb[ds][()]):
                    n = int((ga[ds][()] != gb[ds][()]).sum())
                    errors.append(f"{rid}/{ds}: {n} values differ")
            for k in ga["metrics"]:
                if k in TIMING:
                    continue
                x, y = ga["metrics"][k][()], gb["metrics"][k][()]
                if not np.array_equal(x, y, equal_nan=x.dtype.kind == "f"):
                    errors.append(f"{rid}/metrics/{k} differs")
    return errors


def agree(a, b, tols):
    errors = []
    with h5py.File(a, "r") as fa, h5py.File(b, "r") as fb:
        ra, rb = fa["runs"], fb["runs"]
        if sorted(ra) != sorted(rb):
            return [f"different runs: {sorted(ra)} vs {sorted(rb)}"]
        for rid in ra:
            ga, gb = ra[rid], rb[rid]
            ma, mb, sampler = ga["metrics"], gb["metrics"], attr(ga, "sampler")
            line = [f"{rid} {sampler}:"]
            for key, se in [("marginal_accuracy", "marginal_accuracy_se"), ("mode_tv", "mode_tv_se")]:
                x, y = float(ma[key][()]), float(mb[key][()])
                bound = 1.96 * np.hypot(float(ma[se][()]), float(mb[se][()]))
                line.append(f"{key} {x:.5f} vs {y:.5f} (95% bound {bound:.5f})")
                if not abs(x - y) <= bound:
                    errors.append(f"{rid}/{key}: {x} vs {y} differ by more than {bound}")
            pa, pb = int(ma["proposed"][()].sum()), int(mb["proposed"][()].sum())
            if pa and pb:
                x, y = float(ma["acceptance_overall"][()]), float(mb["acceptance_overall"][()])
                bound = 1.96 * np.sqrt(x * (1 - x) / pa + y * (1 - y) / pb)
                line.append(f"acceptance {x:.5f} vs {y:.5f} (95% bound {bound:.5f})")
                if not abs(x - y) <= bound:
                    errors.append(f"{rid}/acceptance: {x} vs {y} differ by more than {bound}")
            na, nb = int(ma["nfe_total"][()]), int(mb["nfe_total"][()])
            cfg = configparser.ConfigParser(interpolation=None)
            text = ga["config"][()]
            cfg.read_string(text.decode() if isinstance(text, bytes) else text)
            sec = cfg[sampler] if cfg.has_section(sampler) else {}
            if float(sec.get("radius", 0)) > 0 and pa and pb:
                # proposals past the radius cost nothing: each count is a sum of pa Bernoulli passes of cost c,
                # variance <= pa c^2 / 4 (a bound free of the unknown pass rate)
                quad = sec.get("quad", "trapezoid")
                c = 1 + (1 if quad == "simpson" else int(sec.get("quad_nodes", 0)) if quad == "gauss" else 0)
                bound = 1.96 * c * np.sqrt(pa / 4 + pb / 4)
                line.append(f"nfe_total {na} vs {nb} (95% bound {bound:.0f})")
                if not abs(na - nb) <= bound:
                    errors.append(f"{rid}/nfe_total: {na} vs {nb} differ by more than {bound:.0f}")
            elif na != nb:
                errors.append(f"{rid}/nfe_total: {na} vs {nb} (the same plan must count the same NFE)")
            if sampler in tols:
                xa, xb = ga["samples"][()], gb["samples"][()]
                dev = float(np.max(np.abs(xa - xb)) / (1 + np.max(np.abs(xa))))
                line.append(f"samples: max |a - b| / (1 + max |a|) = {dev:.3g} (tolerance {tols[sampler]:g})")
                if not dev <= tols[sampler]:
                    errors.append(f"{rid}/samples differ by {dev:.3g} > {tols[sampler]:g}")
            print(" ".join(line))
    return errors


def metrics(old, new):
    errors = []
    with h5py.File(old, "r") as fo, h5py.File(new, "r") as fn:
        key = lambda g: (attr(g, "sampler"), attr(g, "sweep"))
        byk = {key(fo["runs"][r]): fo["runs"][r] for r in fo["runs"]}
        nv = 0
        for rid in fn["runs"]:
            gn = fn["runs"][rid]
            go = byk.get(key(gn))
            if go is None:
                errors.append(f"{rid}: no run of {old} with sampler and sweep {key(gn)}")
                continue
            for m in gn["metrics"]:
                if m in TIMING:
                    continue
                if m not in go["metrics"]:
                    errors.append(f"{rid}/metrics/{m}: missing in {old}")
                    continue
                a, b = go["metrics"][m][()], gn["metrics"][m][()]
                nv += 1
                if not np.array_equal(a, b, equal_nan=np.asarray(a).dtype.kind == "f"):
                    errors.append(f"{rid}/metrics/{m}: {old} and {new} differ")
        print(f"{len(fn['runs'])} runs of {new} matched in {old}; {nv} metrics compared")
    return errors


def quickstart(path):
    """RTK-MALA at ~100 NFE within 0.01 of exact samples of the same size, and
    clearly above DDPM on the uniform grid (issue #2's acceptance numbers)."""
    errors = []
    acc = {}
    with h5py.File(path, "r") as f:
        for rid, g in f["runs"].items():
            key = attr(g, "sampler") + ("/" + attr(g, "sweep") if attr(g, "sweep") else "")
            acc[key] = float(g["metrics/marginal_accuracy"][()])
            if attr(g, "sampler") == "rtk-mala":
                a = float(g["metrics/acceptance_overall"][()])
                if not 0.6 < a < 0.95:
                    errors.append(f"rtk-mala acceptance {a:.3f} outside (0.6, 0.95)")
                if float(attr(g, "nfe")) != 100:
                    errors.append("rtk-mala NFE is not 100")
    print(acc)
    ex, mala, du = acc["exact"], acc["rtk-mala"], acc["ddpm/ddpm.grid=uniform"]
    if abs(mala - ex) > 0.01:
        errors.append(f"rtk-mala {mala:.4f} not within 0.01 of exact {ex:.4f}")
    if mala - du < 0.2:
        errors.append(f"rtk-mala {mala:.4f} not clearly above ddpm-uniform {du:.4f}")
    return errors


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "contract":
        errs = contract(sys.argv[2])
    elif len(sys.argv) == 3 and sys.argv[1] == "quickstart":
        errs = quickstart(sys.argv[2])
    elif len(sys.argv) >= 4 and sys.argv[1] == "agree":
        errs = agree(sys.argv[2], sys.argv[3], {k: float(v) for k, v in (a.split("=") for a in sys.argv[4:])})
    elif len(sys.argv) == 4 and sys.argv[1] == "metrics":
        errs = metrics(sys.argv[2], sys.argv[3])
    elif len(sys.argv) == 4 and sys.argv[1] == "same":
        errs = same(sys.argv[2], sys.argv[3])
    else:
        print(__doc__)
        sys.exit(2)
    for e in errs:
        print("FAIL", e)
    print("OK" if not errs else f"{len(errs)} problems")
    sys.exit(1 if errs else 0)
