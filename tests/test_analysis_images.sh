#!/bin/bash
# The analysis of image targets (issue 8, pictures): rtk_analyze.py on small
# results files made here with the committed digits target (2 ranks).
# usage: bash tests/test_analysis_images.sh RTKBENCH MPIEXEC WORKDIR SRCDIR
#  I: mog-file digits (d = 16 -> 8x8), exact, ddpm, ddim at nfe 10, 30; the
#     first 12 particles stored -> images.png (rows in order, decode = the
#     target file's PCA map), frechet_vs_nfe.png, FD columns == the HDF5 numbers
#  skip paths, each with exit 0 and a printed note: a target without a decode
#     basis (mog-grid), no samples and no FD (output.samples = 0,
#     metrics.frechet = false), an older file (no frechet_* metrics, no
#     decode group), a study without an exact run (no ground-truth row)
# Prints 'N passed, M failed'; exit 0 iff all pass.
set -u
bin=$1 mpiexec=$2 work=$3 src=$4
py=/usr/bin/python3
ana="$src/analysis/rtk_analyze.py"
tgt="$src/tests/data/digits_d16_k10.h5"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
export MPLBACKEND=Agg PYTHONDONTWRITEBYTECODE=1
rm -rf "$work"
mkdir -p "$work"
. "$src/tests/testlib.sh"
mpi() { timeout 120 "$mpiexec" -n 2 --oversubscribe "$bin" "$@" </dev/null; }
# analyse FILE OUTDIR LOG [options]: exit 0 and no traceback
analyse() {
  local f=$1 o=$2 log=$3
  shift 3
  timeout 120 $py "$ana" "$f" -o "$o" "$@" >"$log" 2>&1 && ! grep -q "Traceback\|^error:" "$log"
}

cat >"$work/i.ini" <<EOF
[run]
particles = 600
seed = 3
samplers = exact, ddpm, ddim
block = 64
[target]
kind = mog-file
file = $tgt
[metrics]
frechet_sets = 3
[output]
samples = 12
[sweep]
nfe = 10, 30
EOF

# ---------------------------------------------------------------- file I
if mpi run "$work/i.ini" -o "$work/i.h5" --force >"$work/i.log" 2>&1; then
  ok "rtkbench makes results file I (digits target, 2 ranks)"
else
  ko "rtkbench makes results file I"; cat "$work/i.log"
fi
out="$work/i_fig"
if analyse "$work/i.h5" "$out" "$work/ana_i.log" --images 8; then
  ok "rtk_analyze.py on I"
else
  ko "rtk_analyze.py on I"
fi
cat "$work/ana_i.log"
missing=""
for f in summary.csv summary.md images.png frechet_vs_nfe.png accuracy_vs_nfe.png; do
  [ -s "$out/$f" ] || missing="$missing $f"
  grep -q "$out/$f" "$work/ana_i.log" || missing="$missing $f(not listed)"
done
if [ -z "$missing" ]; then ok "I: images.png, frechet_vs_nfe.png and the tables exist and are listed"; else ko "I: missing:$missing"; fi

check "I: images.png rows: exact on top, then each sampler by NFE; particles 0-7" \
  grep -qxF "images.png: 5 rows (exact, ddpm NFE 10, ddpm NFE 30, ddim NFE 10, ddim NFE 30); particles 0–7" \
  "$work/ana_i.log"

# the PNGs are real pictures: size, contrast, and for the image grid the
# black (-1) and white (1) grey levels of decoded digits on a white page
check "I: the PNGs are non-trivial (size, contrast, decoded digits present)" $py - "$out" <<'EOF'
import sys
import numpy as np
import matplotlib
matplotlib.use("Agg")
import matplotlib.image as mpimg
out = sys.argv[1]
for name, minh, minw in (("images.png", 400, 700), ("frechet_vs_nfe.png", 300, 600)):
    with open(f"{out}/{name}", "rb") as fh:
        assert fh.read(8) == b"\x89PNG\r\n\x1a\n", f"{name}: not a PNG"
    a = mpimg.imread(f"{out}/{name}")[..., :3]
    h, w = a.shape[:2]
    grey = a.mean(axis=2)
    print(f"{name}: {w}x{h}, grey sd {grey.std():.3f}, levels {np.unique((grey * 255).round()).size}")
    assert h >= minh and w >= minw, (name, h, w)
    assert grey.std() > 0.05, (name, "no contrast")
    assert np.unique((grey * 255).round()).size > 30, (name, "too few grey levels")
a = mpimg.imread(f"{out}/images.png")[..., :3]
grey = a.mean(axis=2)
black = (grey < 0.05).mean()
white = (grey > 0.95).mean()
mid = ((grey > 0.2) & (grey < 0.8)).mean()
# 5 rows x 8 images: black digit backgrounds, grey strokes, a white page
assert black > 0.05 and white > 0.2 and mid > 0.02, (black, white, mid)
print("ok")
EOF

check "I: the decode map equals the target file's PCA map (clip(mean + x @ basis)), copied into the results" \
  $py - "$work/i.h5" "$tgt" "$src/analysis" <<'EOF'
import sys
import numpy as np, h5py
sys.path.insert(0, sys.argv[3])
import rtk_results as R
with h5py.File(sys.argv[1], "r") as f, h5py.File(sys.argv[2], "r") as t:
    for k in ("mean", "basis", "image_shape", "value_range"):
        assert np.array_equal(f["target/decode"][k][:], t["decode"][k][:]), k
    for rid, g in f["runs"].items():
        dec, why = R.Decoder.from_group(g["target"], int(g.attrs["dim"]))
        assert dec is not None, (rid, why)
        X = g["samples"][:]
        assert X.shape == (12, 16), X.shape
        img = dec.decode(X)
        ref = np.clip(t["decode/mean"][:] + X @ t["decode/basis"][:], -1, 1).reshape(-1, 8, 8)
        assert img.shape == (12, 8, 8) and np.array_equal(img, ref), rid
    # no basis: the identity (pixel space), shape checks give a reason
    g = h5py.File("mem.h5", "w", driver="core", backing_store=False)
    d = g.create_group("decode")
    d["image_shape"] = np.array([2, 3])
    d["mean"] = np.zeros(6)
    dec, _ = R.Decoder.from_group(g, 6)
    assert np.array_equal(dec.decode(np.arange(6.0))[0], np.arange(6.0).reshape(2, 3))
    assert R.Decoder.from_group(g, 5)[0] is None
print("ok")
EOF

check "I: summary.csv has the Fréchet columns, equal to the HDF5 numbers" $py - "$work/i.h5" "$out/summary.csv" <<'EOF'
import csv, math, sys
import h5py
rows = list(csv.DictReader(open(sys.argv[2])))
cols = ["frechet_distance", "frechet_floor", "frechet_floor_sd", "frechet_floor_se", "frechet_excess"]
assert all(c in rows[0] for c in cols), list(rows[0])
with h5py.File(sys.argv[1], "r") as f:
    assert len(rows) == len(f["runs"])
    for r in rows:
        m = f["runs"][r["id"]]["metrics"]
        for c in cols:
            assert float(r[c]) == float(m[c][()]), (r["id"], c, r[c], m[c][()])
        assert abs(float(r["frechet_excess"]) - (float(r["frechet_distance"]) - float(r["frechet_floor"]))) < 1e-12
print(f"{len(rows)} rows match")
EOF

check "I: summary.md has FD and FD floor ± sd columns with the stored values (4 significant digits)" \
  $py - "$work/i.h5" "$out/summary.md" <<'EOF'
import sys
import h5py
lines = open(sys.argv[2]).read().splitlines()
hdr = next(l for l in lines if l.startswith("| id |"))
cells = [c.strip() for c in hdr.strip("|").split("|")]
i, j = cells.index("FD"), cells.index("FD floor ± sd")
n = 0
with h5py.File(sys.argv[1], "r") as f:
    for l in lines:
        if not l.startswith("| 00"):
            continue
        c = [x.strip() for x in l.strip("|").split("|")]
        m = f["runs"][c[0]]["metrics"]
        fd, fl, sd = (float(m[k][()]) for k in ("frechet_distance", "frechet_floor", "frechet_floor_sd"))
        assert c[i] == f"{fd:.4g}", (c[0], c[i], fd)
        assert c[j] == f"{fl:.4g} ± {sd:.2g}", (c[0], c[j], fl, sd)
        n += 1
    assert n == len(f["runs"]) == 5, n
print(f"{n} rows ok")
EOF

# ---------------------------------------------------------------- skip paths
# a target without a decode basis: no images.png, the FD figure still drawn
cat >"$work/g.ini" <<'EOF'
[run]
particles = 400
seed = 1
samplers = exact, ddpm
[target]
kind = mog-grid
dim = 4
[sweep]
nfe = 10, 20
EOF
if mpi run "$work/g.ini" -o "$work/g.h5" --force >"$work/g.log" 2>&1 &&
   analyse "$work/g.h5" "$work/g_fig" "$work/ana_g.log" &&
   grep -q "^note: images.png: no decode basis" "$work/ana_g.log" && [ ! -e "$work/g_fig/images.png" ] &&
   [ -s "$work/g_fig/frechet_vs_nfe.png" ] && [ -s "$work/g_fig/clusters.png" ]; then
  ok "skip: a target without a decode basis (mog-grid): images.png skipped with a note, the rest drawn"
else
  ko "skip: a target without a decode basis"; cat "$work/g.log" "$work/ana_g.log"
fi

# no samples stored and no Fréchet metrics
if mpi run "$work/i.ini" -o "$work/n.h5" --force --set output.samples=0 --set metrics.frechet=false \
     --set 'sweep.nfe=10' >"$work/n.log" 2>&1 &&
   analyse "$work/n.h5" "$work/n_fig" "$work/ana_n.log" &&
   grep -q "^note: images.png: .*stored samples" "$work/ana_n.log" &&
   grep -q "^note: frechet_vs_nfe.png: no run stores metrics/frechet_distance" "$work/ana_n.log" &&
   [ ! -e "$work/n_fig/images.png" ] && [ ! -e "$work/n_fig/frechet_vs_nfe.png" ] &&
   ! head -1 "$work/n_fig/summary.csv" | grep -q frechet && ! grep -q "| FD |" "$work/n_fig/summary.md" &&
   [ -s "$work/n_fig/accuracy_vs_nfe.png" ]; then
  ok "skip: output.samples = 0 and metrics.frechet = false: notes, no FD columns, exit 0"
else
  ko "skip: no samples, no FD"; cat "$work/n.log" "$work/ana_n.log"
fi

# an older file: no frechet_* metrics, no decode group
cp "$work/i.h5" "$work/old.h5"
$py - "$work/old.h5" <<'EOF'
import sys, h5py
with h5py.File(sys.argv[1], "r+") as f:
    for g in list(f["runs"].values()) + [f]:
        t = g["target"]
        if "decode" in t:  # a run's target may be a hard link to /target
            del t["decode"]
        if "metrics" in g:
            for k in [k for k in g["metrics"] if k.startswith("frechet")]:
                del g["metrics"][k]
EOF
if analyse "$work/old.h5" "$work/old_fig" "$work/ana_old.log" &&
   grep -q "^note: images.png: no decode basis" "$work/ana_old.log" &&
   grep -q "^note: frechet_vs_nfe.png: no run stores" "$work/ana_old.log" &&
   grep -q "^note: summary: no run stores metrics/frechet_distance" "$work/ana_old.log" &&
   ! head -1 "$work/old_fig/summary.csv" | grep -q frechet &&
   [ -s "$work/old_fig/accuracy_vs_nfe.png" ] && [ -s "$work/old_fig/clusters.png" ]; then
  ok "skip: an older file (no frechet_* metrics, no decode group): notes, exit 0"
else
  ko "skip: an older file"; cat "$work/ana_old.log"
fi

# no exact run: the grid has no ground-truth row and says so
cp "$work/i.h5" "$work/noexact.h5"
$py -c 'import h5py, sys; f = h5py.File(sys.argv[1], "r+"); del f["runs/0000-exact"]' "$work/noexact.h5"
if analyse "$work/noexact.h5" "$work/noexact_fig" "$work/ana_noexact.log" --images 20 &&
   grep -qxF "images.png: 4 rows (ddpm NFE 10, ddpm NFE 30, ddim NFE 10, ddim NFE 30) — no exact run, no ground-truth row; particles 0–11" \
     "$work/ana_noexact.log" &&
   [ -s "$work/noexact_fig/images.png" ] && [ -s "$work/noexact_fig/frechet_vs_nfe.png" ]; then
  ok "no exact run: images.png without a ground-truth row (said), at most the 12 stored particles"
else
  ko "no exact run"; cat "$work/ana_noexact.log"
fi

echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
