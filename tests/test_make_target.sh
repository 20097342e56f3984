#!/bin/bash
# analysis/make_target.py: deterministic for a seed, valid contents, clear refusals.
# usage: bash tests/test_make_target.sh SRCDIR
#  - digits --pca 16 --components 10 --seed 1 twice -> same sha256 of the file and of every dataset
#  - the file validates: layout, dtypes, weights sum to 1, variances > 0, basis rows
#    orthonormal, decode reproduces sklearn's PCA inverse_transform, train_loglik
#    recomputed in numpy from the stored mixture
#  - the committed tests/data/digits_d16_k10.h5 validates the same way (and matches a
#    fresh fit when made with the same scikit-learn and numpy versions)
#  - pixel space (--pca 64: no basis) and --train-size subsampling
#  - a different seed gives a different file
#  - bad arguments: exit 2, one line on stderr naming the argument, no output file
# Prints 'N passed, M failed'; exit 0 iff all pass.  Takes a few seconds (digits only).
set -u
src=${1:?usage: test_make_target.sh SRCDIR}
py=/usr/bin/python3
mt="$src/analysis/make_target.py"
committed="$src/tests/data/digits_d16_k10.h5"
export PYTHONDONTWRITEBYTECODE=1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
. "$src/tests/testlib.sh"

# --- the validator: python3 - FILE D K [pixel]
cat >"$work/validate.py" <<'EOF'
import math, sys
import h5py, numpy as np
path, D, K = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
P = 64  # digits pixels
err = []
def need(c, msg):
    if not c: err.append(msg)
with h5py.File(path, "r") as f:
    a = f.attrs
    s = lambda n: a[n].decode() if isinstance(a[n], bytes) else a[n]
    order = ["format", "format_version", "data", "pca_dim", "components", "seed", "var_floor", "max_iter",
             "train_size", "train_loglik", "pca_explained_variance", "converged", "n_iter", "command",
             "sklearn_version", "numpy_version"]
    for n in order: need(n in a, f"attribute {n} missing")
    if err: print("\n".join(err)); sys.exit(1)
    need(s("format") == "rtkbench-target" and a["format_version"] == 1, "format/format_version")
    need(s("data") == "digits" and a["pca_dim"] == D and a["components"] == K, "data/pca_dim/components")
    need("-o" not in s("command") and "--output" not in s("command"), "command records the output path")
    for n in ["format", "data", "command"]:
        t = f.attrs.get_id(n).get_type()
        need(t.get_class() == h5py.h5t.STRING and not t.is_variable_str() and t.get_strpad() == h5py.h5t.STR_NULLTERM,
             f"attribute {n} is not a fixed-length NUL-terminated string")
    for n in ["format_version", "pca_dim", "components", "seed", "train_size"]:
        need(f.attrs.get_id(n).dtype == np.dtype("<i8"), f"attribute {n} is not int64")
    for n in ["var_floor", "train_loglik", "pca_explained_variance"]:
        need(f.attrs.get_id(n).dtype == np.dtype("<f8"), f"attribute {n} is not float64")
    shapes = {"weights": (K,), "means": (K, D), "variances": (K, D), "decode/mean": (P,),
              "decode/image_shape": (2,), "decode/value_range": (2,)}
    if D < P: shapes["decode/basis"] = (D, P)
    else: need("decode/basis" not in f, "pixel space must store no /decode/basis")
    for n, sh in shapes.items():
        need(n in f and f[n].shape == sh, f"/{n}: shape {f[n].shape if n in f else None}, expected {sh}")
        if n in f:
            want = "<i8" if n == "decode/image_shape" else "<f8"
            need(f[n].dtype == np.dtype(want), f"/{n}: dtype {f[n].dtype}, expected {want}")
            need(f[n].id.get_create_plist().get_layout() == h5py.h5d.CONTIGUOUS, f"/{n} is not contiguous")
    if err: print("\n".join(err)); sys.exit(1)
    w, mu, var = f["weights"][()], f["means"][()], f["variances"][()]
    mean = f["decode/mean"][()]
    basis = f["decode/basis"][()] if D < P else np.eye(P)
    need(abs(math.fsum(w) - 1) <= 1e-9, f"weights sum to {math.fsum(w)!r}")
    need(np.all(w > 0) and np.all(np.isfinite(mu)), "weights > 0, finite means")
    need(np.all(var > 0) and np.all(var >= a["var_floor"]), "variances > 0 and >= var_floor")
    need(list(f["decode/image_shape"][()]) == [8, 8], "image_shape (8, 8)")
    need(list(f["decode/value_range"][()]) == [-1.0, 1.0], "value_range (-1, 1)")
    need(np.abs(basis @ basis.T - np.eye(D)).max() <= 1e-10, "basis rows not orthonormal within 1e-10")
    # decode(project(x)) against scikit-learn's own PCA of the same pixels
    from sklearn.datasets import load_digits
    from sklearn.decomposition import PCA
    x = load_digits().data / 16.0 * 2.0 - 1.0
    n = a["train_size"]
    need(n == len(x), "this validator expects the full training set")
    if D < P:
        pca = PCA(n_components=D, svd_solver="full").fit(x)
        need(np.abs(pca.mean_ - mean).max() <= 1e-12, "decode/mean differs from the PCA mean")
        rec_sk = pca.inverse_transform(pca.transform(x))
        need(abs(a["pca_explained_variance"] - pca.explained_variance_ratio_.sum()) <= 1e-12, "pca_explained_variance")
    else:
        need(np.all(mean == 0), "pixel space: decode/mean must be zeros")
        need(a["pca_explained_variance"] == 1.0, "pixel space: pca_explained_variance must be 1")
        rec_sk = x
    z = (x - mean) @ basis.T
    rec = mean + z @ basis
    need(np.abs(rec - rec_sk).max() <= 1e-10, f"decode differs from inverse_transform by {np.abs(rec - rec_sk).max():.3g}")
    # the reconstruction error is the discarded variance
    mse = ((x - rec) ** 2).sum(1).mean()
    tot = ((x - x.mean(0)) ** 2).sum(1).mean()
    need(abs(mse - (1 - a["pca_explained_variance"]) * tot) <= 1e-9 * tot, f"reconstruction error {mse} vs discarded variance")
    img = np.clip(mean + z[0] @ basis, -1, 1).reshape(8, 8)
    need(np.abs(img - np.clip(rec_sk[0], -1, 1).reshape(8, 8)).max() <= 1e-10, "decoded image 0")
    # train_loglik: the mean log-density of the stored mixture over the training coordinates
    lp = (-0.5 * (((z[:, None, :] - mu[None]) ** 2) / var[None] + np.log(2 * np.pi * var)[None]).sum(2)
          + np.log(w)[None])
    m = lp.max(1, keepdims=True)
    ll = float((m[:, 0] + np.log(np.exp(lp - m).sum(1))).mean())
    need(abs(ll - a["train_loglik"]) <= 1e-9 * max(1.0, abs(ll)), f"train_loglik {a['train_loglik']} vs recomputed {ll}")
if err: print("\n".join(err)); sys.exit(1)
print(f"{path}: valid (K={K}, d={D})")
EOF

# --- hashes of the file and of each dataset: python3 - FILE
cat >"$work/hashes.py" <<'EOF'
import hashlib, sys, h5py
with open(sys.argv[1], "rb") as fh: print("file", hashlib.sha256(fh.read()).hexdigest())
with h5py.File(sys.argv[1], "r") as f:
    def show(name, obj):
        if isinstance(obj, h5py.Dataset): print(name, obj.dtype.str, obj.shape, hashlib.sha256(obj[()].tobytes()).hexdigest())
    f.visititems(show)
EOF

run() { "$py" "$mt" "$@"; }
base=(--data digits --pca 16 --components 10 --seed 1)

# determinism
check "run 1" run "${base[@]}" -o "$work/a.h5"
sleep 1.1 # a timestamp at one-second resolution would now differ
check "run 2" run "${base[@]}" -o "$work/b.h5"
"$py" "$work/hashes.py" "$work/a.h5" >"$work/a.sha" 2>&1
"$py" "$work/hashes.py" "$work/b.h5" >"$work/b.sha" 2>&1
if [ "$(wc -l <"$work/a.sha")" -eq 8 ] && cmp -s "$work/a.sha" "$work/b.sha"; then
  ok "same command, same sha256 (file and its 7 datasets)"
else
  ko "same command, same sha256"
  diff "$work/a.sha" "$work/b.sha"
fi

# contents
check "contents valid (d=16, K=10)" "$py" "$work/validate.py" "$work/a.h5" 16 10
check "committed tests/data/digits_d16_k10.h5 valid" "$py" "$work/validate.py" "$committed" 16 10
cat >"$work/same.py" <<'EOF'
import sys, h5py, numpy as np, sklearn
c, a = h5py.File(sys.argv[1], "r"), h5py.File(sys.argv[2], "r")
v = lambda f, n: f.attrs[n].decode()
if (v(c, "sklearn_version"), v(c, "numpy_version")) != (sklearn.__version__, np.__version__):
    print(f"committed file made with scikit-learn {v(c, 'sklearn_version')}, numpy {v(c, 'numpy_version')}; "
          f"here {sklearn.__version__}, {np.__version__}: not compared"); sys.exit(0)
assert v(c, "command") == v(a, "command"), "command differs"
for n in ["weights", "means", "variances", "decode/mean", "decode/basis"]:
    x, y = c[n][()], a[n][()]
    assert np.allclose(x, y, rtol=1e-8, atol=1e-10), f"/{n} differs from a fresh fit by {np.abs(x - y).max()}"
print("committed file equals a fresh fit (rtol 1e-8)")
EOF
check "committed file == fresh fit (same versions)" "$py" "$work/same.py" "$committed" "$work/a.h5"

# pixel space and subsampling
check "pixel space --pca 64" run --data digits --pca 64 --components 5 --seed 2 -o "$work/pix.h5"
check "pixel space valid (no basis)" "$py" "$work/validate.py" "$work/pix.h5" 64 5
check "--train-size 500" run --data digits --pca 8 --components 4 --seed 3 --train-size 500 -o "$work/sub.h5"
check "--train-size recorded" "$py" -c "import h5py,sys; f=h5py.File(sys.argv[1]); assert f.attrs['train_size']==500 and f['means'].shape==(4,8)" "$work/sub.h5"

# a different seed
run --data digits --pca 16 --components 10 --seed 2 -o "$work/c.h5" >/dev/null 2>&1
"$py" "$work/hashes.py" "$work/c.h5" >"$work/c.sha" 2>&1
if [ -s "$work/c.sha" ] && ! cmp -s "$work/a.sha" "$work/c.sha" &&
  [ "$(grep '^means' "$work/a.sha")" != "$(grep '^means' "$work/c.sha")" ]; then
  ok "a different seed gives a different file (and different means)"
else
  ko "a different seed gives a different file"
fi

# refusals: exit 2, one line on stderr naming the argument, no output file
refuse() { # name pattern args...
  local name=$1 pat=$2
  shift 2
  rm -f "$work/bad.h5"
  "$py" "$mt" "$@" >"$work/bad.out" 2>"$work/bad.err"
  local rc=$?
  if [ $rc -eq 2 ] && grep -q -- "$pat" "$work/bad.err" && [ "$(wc -l <"$work/bad.err")" -eq 1 ] &&
    [ ! -e "$work/bad.h5" ] && ! ls "$work"/.make_target.* >/dev/null 2>&1; then
    ok "refuses $name: $(cat "$work/bad.err")"
  else
    ko "refuses $name (rc $rc, expected 2 and one stderr line naming '$pat')"
    cat "$work/bad.err"
  fi
}
refuse "unknown --data" "--data" --data mnist --pca 16 --components 10 --seed 1 -o "$work/bad.h5"
refuse "--pca 0" "--pca" --data digits --pca 0 --components 10 --seed 1 -o "$work/bad.h5"
refuse "--pca 100 (digits has 64 pixels)" "--pca" --data digits --pca 100 --components 10 --seed 1 -o "$work/bad.h5"
refuse "--pca abc" "--pca" --data digits --pca abc --components 10 --seed 1 -o "$work/bad.h5"
refuse "--components 0" "--components" --data digits --pca 16 --components 0 --seed 1 -o "$work/bad.h5"
refuse "--components > --train-size" "--components" --data digits --pca 16 --components 50 --seed 1 --train-size 20 -o "$work/bad.h5"
refuse "--seed -1" "--seed" --data digits --pca 16 --components 10 --seed -1 -o "$work/bad.h5"
refuse "--var-floor 0" "--var-floor" --data digits --pca 16 --components 10 --seed 1 --var-floor 0 -o "$work/bad.h5"
refuse "--var-floor nan" "--var-floor" --data digits --pca 16 --components 10 --seed 1 --var-floor nan -o "$work/bad.h5"
refuse "--max-iter 0" "--max-iter" --data digits --pca 16 --components 10 --seed 1 --max-iter 0 -o "$work/bad.h5"
refuse "--train-size 0" "--train-size" --data digits --pca 16 --components 10 --seed 1 --train-size 0 -o "$work/bad.h5"
refuse "--train-size 2000" "--train-size" --data digits --pca 16 --components 10 --seed 1 --train-size 2000 -o "$work/bad.h5"
refuse "missing -o" "-o" --data digits --pca 16 --components 10 --seed 1
refuse "missing --seed" "--seed" --data digits --pca 16 --components 10 -o "$work/bad.h5"
refuse "-o in a missing directory" "-o" --data digits --pca 16 --components 10 --seed 1 -o "$work/nodir/bad.h5"

echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
