#!/usr/bin/python3
"""Independent checks of mog-file targets and the Fréchet distance (issue 8).

  check_target.py broken GOOD.h5 OUTDIR      write the broken-file cases (prints: name|file|expected text)
  check_target.py roundtrip TARGET.h5 RES.h5 /target and every run's target equal the file bitwise
  check_target.py exact TARGET.h5 RES.h5     the exact sampler vs the file's analytic moments and mode
                                             probabilities (k-sigma), FD vs its floor, FD recomputed
  check_target.py detect RES.h5 RUN          the run's FD is above the floor by > 4 floor sd

Everything here is computed in numpy/scipy from the files, not by rtkbench."""
import hashlib
import os
import sys

import h5py
import numpy as np

K_SIGMA = 4.5


def arr(f, name):
    return f[name][()]


def broken(good, out):
    os.makedirs(out, exist_ok=True)
    with h5py.File(good, "r") as g:
        base = {k: arr(g, k) for k in ["weights", "means", "variances"]}
        dec = {k: arr(g, "decode/" + k) for k in g["decode"]}
    K, d = base["means"].shape
    cases = []

    def make(name, expect, edit):
        path = os.path.join(out, name + ".h5")
        data = {k: v.copy() for k, v in base.items()}
        dd = {k: v.copy() for k, v in dec.items()}
        with h5py.File(path, "w") as f:
            edit(f, data, dd)
            for k, v in data.items():
                if v is not None and k not in f:
                    f[k] = v
            if dd is not None and "decode" not in f:
                grp = f.create_group("decode")
                for k, v in dd.items():
                    if v is not None:
                        grp[k] = v
        cases.append((name, path, expect))

    def drop(key):
        return lambda f, data, dd: data.__setitem__(key, None)

    def setv(key, idx, val):
        def e(f, data, dd):
            data[key][idx] = val
        return e

    make("missing_means", "dataset /means is missing", drop("means"))
    make("missing_weights", "dataset /weights is missing", drop("weights"))
    make("shape_variances", "/variances has shape [%d][%d], expected [%d][%d]" % (K, d + 1, K, d),
         lambda f, data, dd: data.__setitem__("variances", np.ones((K, d + 1))))
    make("shape_means_rows", "/means has shape [%d][%d], expected [%d][any]" % (K + 1, d, K),
         lambda f, data, dd: data.__setitem__("means", np.zeros((K + 1, d))))
    make("rank_weights", "/weights has 2 dimensions, expected 1",
         lambda f, data, dd: data.__setitem__("weights", data["weights"].reshape(1, K)))
    make("nan_mean", "/means[3][5] is nan", setv("means", (3, 5), np.nan))
    make("inf_weight", "/weights[4] is inf", setv("weights", 4, np.inf))
    make("zero_variance", "/variances[2][7] is 0 (must be > 0)", setv("variances", (2, 7), 0.0))
    make("negative_variance", "/variances[9][0] is -0.5", setv("variances", (9, 0), -0.5))
    make("negative_weight", "/weights[1] is -", lambda f, data, dd: (data["weights"].__setitem__(1, -data["weights"][1]),
                                                                     data["weights"].__setitem__(0, data["weights"][0] + 2 * base["weights"][1])))
    make("weights_sum", "/weights sum to", lambda f, data, dd: data["weights"].__setitem__(0, data["weights"][0] + 1e-6))
    make("string_means", "/means must hold floating-point numbers",
         lambda f, data, dd: (data.__setitem__("means", None), f.create_dataset("means", data=np.array([b"x"] * K))))
    make("group_means", "/means is not a dataset",
         lambda f, data, dd: (data.__setitem__("means", None), f.create_group("means")))
    make("int_variances", "/variances must hold floating-point numbers",
         lambda f, data, dd: data.__setitem__("variances", np.ones((K, d), dtype=np.int64)))
    make("decode_shape", "/decode/image_shape is [7, 7]",
         lambda f, data, dd: dd.__setitem__("image_shape", np.array([7, 7])))
    make("decode_no_basis", "dataset /decode/basis is missing", lambda f, data, dd: dd.__setitem__("basis", None))
    make("decode_basis_shape", "/decode/basis has shape [%d][%d]" % (d, dd_len(dec) - 1),
         lambda f, data, dd: dd.__setitem__("basis", np.zeros((d, dd_len(dec) - 1))))
    make("decode_nan", "/decode/basis[0][3] is nan", setv_dec(dec, "basis", (0, 3), np.nan))
    make("decode_range", "/decode/value_range is [1, -1]",
         lambda f, data, dd: dd.__setitem__("value_range", np.array([1.0, -1.0])))
    # not HDF5 at all
    p = os.path.join(out, "text.h5")
    with open(p, "w") as f:
        f.write("weights = 1\n")
    cases.append(("not_hdf5", p, "not an HDF5 file"))
    for name, path, expect in cases:
        print(f"{name}|{path}|{expect}")


def dd_len(dec):
    return len(dec["mean"])


def setv_dec(dec, key, idx, val):
    def e(f, data, dd):
        dd[key][idx] = val
    return e


def roundtrip(target, res):
    errors = []
    h = hashlib.sha256(open(target, "rb").read()).hexdigest()
    with h5py.File(target, "r") as t, h5py.File(res, "r") as r:
        groups = [r["target"]] + [g["target"] for g in r["runs"].values()]
        for g in groups:
            for k in ["weights", "means", "variances"]:
                if not np.array_equal(arr(t, k), arr(g, k)):
                    errors.append(f"{g.name}/{k} differs from the file")
            for k in t["decode"]:
                if not np.array_equal(arr(t, "decode/" + k), arr(g, "decode/" + k)):
                    errors.append(f"{g.name}/decode/{k} differs from the file")
            sha = g.attrs["sha256"]
            sha = sha.decode() if isinstance(sha, bytes) else sha
            if sha != h:
                errors.append(f"{g.name} sha256 {sha} != {h}")
            src = g.attrs["source_file"]
            if os.path.basename(src.decode() if isinstance(src, bytes) else src) != os.path.basename(target):
                errors.append(f"{g.name} source_file {src}")
        for rid, g in r["runs"].items():
            cfg = g["config"][()]
            cfg = cfg.decode() if isinstance(cfg, bytes) else cfg
            if f"sha256 = {h}" not in cfg or f"dim = {t['means'].shape[1]}" not in cfg:
                errors.append(f"{rid}: the resolved configuration does not record the hash and dim")
    return errors


def mixture(f):
    return arr(f, "weights"), arr(f, "means"), arr(f, "variances")


def log_resp(X, w, mu, var):
    """log w_k N(x; mu_k, diag var_k) for every row, up to a constant"""
    L = np.log(w)[None, :] - 0.5 * np.log(var).sum(1)[None, :]
    L = L - 0.5 * (((X[:, None, :] - mu[None, :, :]) ** 2) / var[None, :, :]).sum(2)
    return L


def frechet_np(X, m, C):
    from scipy import linalg
    mh = X.mean(0)
    Ch = np.cov(X, rowvar=False, bias=True)
    s = linalg.sqrtm(C)
    cross = linalg.sqrtm(s @ Ch @ s)
    return float(((mh - m) ** 2).sum() + np.trace(Ch) + np.trace(C) - 2 * np.trace(cross).real)


def exact(target, res):
    errors = []
    with h5py.File(target, "r") as t, h5py.File(res, "r") as r:
        w, mu, var = mixture(t)
        g = [g for g in r["runs"].values() if g.attrs["sampler"] in (b"exact", "exact")][0]
        tend = float(g["times"][-1])  # p_t at the run's last time (delta)
        a = np.exp(-tend)
        mu, var = a * mu, a * a * var - np.expm1(-2 * tend)
        X = g["samples"][()]
        N, d = X.shape
        if N != int(g.attrs["particles"]):
            errors.append("all samples must be stored for this check")
        mean = w @ mu
        second = w @ (var + mu ** 2)
        v = second - mean ** 2
        # fourth central moment of each coordinate (mixture of normals)
        dk = mu - mean
        mu4 = w @ (dk ** 4 + 6 * dk ** 2 * var + 3 * var ** 2)
        zm = (X.mean(0) - mean) / np.sqrt(v / N)
        zv = (X.var(0) - v) / np.sqrt((mu4 - v ** 2) / N)
        print(f"coordinate means: max |z| = {np.abs(zm).max():.2f}; variances: max |z| = {np.abs(zv).max():.2f}")
        if np.abs(zm).max() > K_SIGMA:
            errors.append(f"coordinate means off: z = {zm}")
        if np.abs(zv).max() > K_SIGMA:
            errors.append(f"coordinate variances off: z = {zv}")
        # mode counts: argmax component of exact samples; its law q_k by an independent numpy Monte Carlo
        counts = g["metrics/mode_counts"][()]
        if counts.sum() != N:
            errors.append(f"mode counts sum to {counts.sum()}, not {N}")
        mine = np.bincount(log_resp(X, w, mu, var).argmax(1), minlength=len(w))
        if not np.array_equal(mine, counts):
            errors.append(f"mode counts {counts} differ from the argmax of the stored samples {mine}")
        rng = np.random.default_rng(12345)
        M = 400000
        comp = rng.choice(len(w), size=M, p=w / w.sum())
        Y = mu[comp] + np.sqrt(var[comp]) * rng.standard_normal((M, d))
        q = np.bincount(log_resp(Y, w, mu, var).argmax(1), minlength=len(w)) / M
        z = (counts / N - q) / np.sqrt(q * (1 - q) / N + q * (1 - q) / M + 1e-300)
        print(f"mode frequencies vs their exact law: max |z| = {np.abs(z).max():.2f}")
        if np.abs(z).max() > K_SIGMA:
            errors.append(f"mode frequencies off: z = {z}")
        tv = 0.5 * np.abs(counts / N - w).sum()
        if abs(tv - g["metrics/mode_tv"][()]) > 1e-12:
            errors.append(f"mode_tv {g['metrics/mode_tv'][()]} != recomputed {tv}")
        # Fréchet distance: recomputed from the samples (scipy sqrtm), and against its floor
        C = (dk * w[:, None]).T @ dk + np.diag(w @ var)
        fd_np = frechet_np(X, mean, C)
        m = g["metrics"]
        fd, fl, sd = m["frechet_distance"][()], m["frechet_floor"][()], m["frechet_floor_sd"][()]
        R = len(m["frechet_floor_sets"][()])
        print(f"FD {fd:.6g} (numpy {fd_np:.6g}), floor {fl:.6g} +- {sd:.3g} over {R} sets")
        if abs(fd - fd_np) > 1e-6 + 1e-4 * fd_np:
            errors.append(f"stored FD {fd} != numpy FD {fd_np}")
        if abs(fd - fl) > 4 * sd * np.sqrt(1 + 1 / R):
            errors.append(f"exact samples' FD {fd} is not within 4 sd of the floor {fl} +- {sd}")
        if abs(m["frechet_excess"][()] - (fd - fl)) > 1e-15:
            errors.append("frechet_excess != frechet_distance - frechet_floor")
        sets = m["frechet_floor_sets"][()]
        if abs(sets.mean() - fl) > 1e-12 * max(1, fl) or abs(sets.std(ddof=1) - sd) > 1e-12 * max(1, sd):
            errors.append("frechet_floor / _sd are not the mean / sd of frechet_floor_sets")
    return errors


def detect(res, rid):
    with h5py.File(res, "r") as r:
        m = r["runs"][rid]["metrics"]
        fd, fl, sd = m["frechet_distance"][()], m["frechet_floor"][()], m["frechet_floor_sd"][()]
        print(f"{rid}: FD {fd:.5g}, floor {fl:.5g} +- {sd:.3g}")
        return [] if fd - fl > 4 * sd else [f"{rid}: FD {fd} not above the floor {fl} + 4 x {sd}"]


if __name__ == "__main__":
    cmd = sys.argv[1] if len(sys.argv) > 1 else ""
    if cmd == "broken" and len(sys.argv) == 4:
        broken(sys.argv[2], sys.argv[3])
        sys.exit(0)
    elif cmd == "roundtrip" and len(sys.argv) == 4:
        errs = roundtrip(sys.argv[2], sys.argv[3])
    elif cmd == "exact" and len(sys.argv) == 4:
        errs = exact(sys.argv[2], sys.argv[3])
    elif cmd == "detect" and len(sys.argv) == 4:
        errs = detect(sys.argv[2], sys.argv[3])
    else:
        print(__doc__)
        sys.exit(2)
    for e in errs:
        print("FAIL", e)
    print("OK" if not errs else f"{len(errs)} problems")
    sys.exit(1 if errs else 0)
