#!/bin/bash
# The analysis scripts (analysis/rtk_analyze.py) on two small results files.
# usage: bash tests/test_analysis.sh RTKBENCH WORKDIR SRCDIR
#  A: exact, ddpm, rtk-mala; 2000 particles; nfe 20, 50; boundaries stored
#     -> every figure and table, summary.csv == the HDF5 numbers, the Python
#        exact-p_t code reproduces the C metrics, unfinished runs are skipped
#  B: mog-random, dim 2, 4, 8, 16; nfe 20, 50, 100 -> the scaling mode
# Prints 'N passed, M failed'; exit 0 iff all pass.
set -u
bin=$1 work=$2 src=$3
py=/usr/bin/python3
ana="$src/analysis/rtk_analyze.py"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export MPLBACKEND=Agg PYTHONDONTWRITEBYTECODE=1
rm -rf "$work/a_figures" "$work/b_fig" "$work/partial" "$work"/a*.h5 "$work"/b.h5
mkdir -p "$work"
. "$src/tests/testlib.sh"

cat >"$work/a.ini" <<'EOF'
[run]
particles = 2000
seed = 3
samplers = exact, ddpm, rtk-mala
[target]
kind = mog-grid
dim = 6
[time]
T = 5
grid = geometric
t_min = 0.001
[rtk-mala]
segments = 5
init = ddpm
[output]
boundaries = true
[sweep]
nfe = 20, 50
EOF
cat >"$work/b.ini" <<'EOF'
[run]
particles = 1000
seed = 1
samplers = ddpm, rtk-mala
[target]
kind = mog-random
[time]
T = 5
grid = geometric
t_min = 0.001
[sweep]
dim = 2, 4, 8, 16
nfe = 20, 50, 100
EOF

# ---------------------------------------------------------------- file A
if timeout 120 "$bin" run "$work/a.ini" -o "$work/a.h5" --force >"$work/a.log" 2>&1; then
  ok "rtkbench makes results file A"
else
  ko "rtkbench makes results file A"; cat "$work/a.log"
fi
# default output folder: <stem>_figures next to the file
if timeout 120 $py "$ana" "$work/a.h5" >"$work/ana_a.log" 2>&1; then
  ok "rtk_analyze.py on A (default output folder)"
else
  ko "rtk_analyze.py on A"; cat "$work/ana_a.log"
fi
cat "$work/ana_a.log"
out="$work/a_figures"
missing=""
for f in summary.csv summary.md accuracy_vs_nfe.png mode_tv_vs_nfe.png acceptance.png time_split.png \
         boundary_accuracy.png hist_x2.png clusters.png; do
  [ -s "$out/$f" ] || missing="$missing $f"
  case $f in *.png) head -c 8 "$out/$f" 2>/dev/null | grep -q PNG || missing="$missing $f(not a PNG)" ;; esac
  grep -q "$out/$f" "$work/ana_a.log" || missing="$missing $f(not listed)"
done
if [ -z "$missing" ]; then ok "A: every expected file exists, is non-empty and is listed"; else ko "A: missing/empty:$missing"; fi

check "A: summary.csv has one row per run and equals the HDF5 numbers" $py - "$work/a.h5" "$out/summary.csv" <<'EOF'
import csv, math, sys
import h5py
h5, csvp = sys.argv[1], sys.argv[2]
s = lambda v: v.decode() if isinstance(v, bytes) else str(v)
rows = list(csv.DictReader(open(csvp)))
with h5py.File(h5, "r") as f:
    runs = {k: g for k, g in f["runs"].items() if s(g.attrs["status"]) == "complete"}
    assert len(rows) == len(runs) == int(f.attrs["runs"]), (len(rows), len(runs))
    assert sorted(r["id"] for r in rows) == sorted(runs), "run ids differ"
    bad = 0
    def same(a, b):
        return (math.isnan(a) and math.isnan(b)) or a == b
    for r in rows:
        g = runs[r["id"]]; m = g["metrics"]
        exp = {"marginal_accuracy": m["marginal_accuracy"][()],
               "marginal_accuracy_ci95_lo": m["marginal_accuracy_ci95"][0],
               "marginal_accuracy_ci95_hi": m["marginal_accuracy_ci95"][1],
               "noise_floor_accuracy": 1.0 - m["noise_floor"][()],
               "excess_tv": m["excess_tv"][()], "mode_tv": m["mode_tv"][()],
               "mode_tv_ci95_lo": m["mode_tv_ci95"][0], "mode_tv_ci95_hi": m["mode_tv_ci95"][1],
               "acceptance_overall": m["acceptance_overall"][()], "wall_time": m["wall_time"][()],
               "nfe_per_second": m["nfe_per_second"][()], "nfe": g.attrs["nfe"]}
        for k, v in exp.items():
            if not same(float(r[k]), float(v)):
                print(f"{r['id']} {k}: csv {r[k]} hdf5 {v!r}"); bad += 1
        for k in ("particles", "seed", "dim"):
            if int(r[k]) != int(g.attrs[k]):
                print(f"{r['id']} {k}: csv {r[k]} hdf5 {g.attrs[k]}"); bad += 1
        for k in ("sampler", "sweep"):
            if r[k] != s(g.attrs[k]):
                print(f"{r['id']} {k}: csv {r[k]!r} hdf5 {s(g.attrs[k])!r}"); bad += 1
        grid = "-" if r["sampler"] == "exact" else "geometric"
        if r["grid"] != grid:
            print(f"{r['id']} grid {r['grid']}"); bad += 1
    assert bad == 0, f"{bad} mismatches"
print(f"{len(rows)} rows match")
EOF

check "A: summary.md is a table with one row per run" \
  bash -c "[ \$(grep -c '^| [0-9]\{4\}-' '$out/summary.md') = \$(($(wc -l <"$out/summary.csv") - 1)) ]"

check "A: Python exact p_t reproduces the C bin probabilities, histograms, accuracy (also per boundary)" \
  $py - "$work/a.h5" "$src/analysis" <<'EOF'
import sys
import numpy as np, h5py
sys.path.insert(0, sys.argv[2])
import rtk_results as R
assert R.check_erfc() < 1e-14
# NFE*: a power law is recovered exactly (log-log interpolation), a value that
# crosses zero falls back to linear, and the boundary cases are labelled
for p in (1.0, 2.0):
    n, st = R.nfe_at_threshold([10, 100, 1000], [10.0 ** (-p * k) for k in range(3)], 10.0 ** (-p * 1.5))
    assert st == "interp" and abs(n - 10 ** 2.5) < 1e-9 * n, (p, n, st)
n, st = R.nfe_at_threshold([10, 100], [1.0, -1.0], 0.0)
assert st == "interp" and abs(n - 10 ** 1.5) < 1e-9 * n, n
n, st = R.nfe_at_threshold([10, 100], [0.05, 0.01], 0.1)
assert st == "at-first" and abs(n - 10) < 1e-9, (n, st)
assert R.nfe_at_threshold([10, 100], [1.0, 0.5], 0.1)[1] == "not reached"
# the exponent fit recovers an exact power law with a zero-width interval
a, b, lo, hi = R.loglog_fit([2, 8, 32, 128], [3 * d ** 0.5 for d in (2, 8, 32, 128)])
assert abs(b - 0.5) < 1e-12 and abs(hi - lo) < 1e-9, (b, lo, hi)
with h5py.File(sys.argv[1], "r") as f:
    for rid, g in f["runs"].items():
        mix = R.Mixture.from_group(g["target"]); m = g["metrics"]
        t = float(g["times"][-1])
        lo, hi = mix.ranges(t, 4.0)
        assert np.allclose(lo, m["bin_lo"][:], rtol=0, atol=1e-13) and np.allclose(hi, m["bin_hi"][:], rtol=0, atol=1e-13)
        p = mix.bin_probs(t, m["bin_lo"][:], m["bin_hi"][:], 100)
        assert np.abs(p - m["bin_probs"][:]).max() < 1e-12, rid
        X = g["samples"][:]
        assert (R.histogram_counts(X, m["bin_lo"][:], m["bin_hi"][:], 100) == m["histograms"][:]).all(), rid
        acc, floor = R.marginal_accuracy(X, mix, t)
        assert abs(acc - m["marginal_accuracy"][()]) < 1e-12, (rid, acc)
        assert abs(floor - (1 - m["noise_floor"][()])) < 1e-10, (rid, floor)
        if "boundaries" in g:  # last plane = samples, first plane = x_T
            B = g["boundaries"]
            T = g["times"][:]
            assert B.shape[0] == T.shape[0] and np.array_equal(B[-1], X), rid
            if "boundary_accuracy" in m:  # the C code's own per-boundary accuracy (newer files)
                ba = m["boundary_accuracy"][:]
                py = [R.marginal_accuracy(B[k], mix, float(T[k]))[0] for k in range(T.size)]
                assert np.abs(ba - py).max() < 1e-12, (rid, np.abs(ba - py).max())
    # the strip conditional density integrates to one
    mix = R.Mixture.from_group(f["target"])
    x = np.linspace(-6, 6, 24001)
    dens, P = mix.strip_conditional(x, 0.75, 1.25)
    assert abs(np.trapz(dens, x) - 1) < 1e-6 and 0 < P < 1
print("ok")
EOF

check "A: boundary figure found no mismatch between the last plane and the metrics" \
  bash -c "! grep -q 'differs from' '$work/ana_a.log'"

# an unfinished run (status 'running') is skipped, not reported
cp "$work/a.h5" "$work/a_partial.h5"
$py - "$work/a_partial.h5" <<'EOF'
import sys, h5py
with h5py.File(sys.argv[1], "r+") as f:
    g = f["runs"][sorted(f["runs"])[-1]]
    g.attrs.modify("status", b"running")
EOF
if $py "$ana" "$work/a_partial.h5" -o "$work/partial" >"$work/partial.log" 2>&1 &&
   [ $(($(wc -l <"$work/partial/summary.csv") - 1)) = $(($(wc -l <"$out/summary.csv") - 2)) ] &&
   grep -q "unfinished" "$work/partial.log"; then
  ok "an unfinished run is skipped with a note"
else
  ko "an unfinished run is skipped with a note"; cat "$work/partial.log"
fi

# ---------------------------------------------------------------- file B
if timeout 120 "$bin" run "$work/b.ini" -o "$work/b.h5" --force >"$work/b.log" 2>&1; then
  ok "rtkbench makes results file B (dim sweep)"
else
  ko "rtkbench makes results file B"; cat "$work/b.log"
fi
if timeout 120 $py "$ana" "$work/b.h5" -o "$work/b_fig" --scaling-target 0.05 >"$work/ana_b.log" 2>&1; then
  ok "rtk_analyze.py on B (scaling mode)"
else
  ko "rtk_analyze.py on B"
fi
cat "$work/ana_b.log"
check "B: scaling.png and scaling.md written, one table row per sampler" \
  bash -c "[ -s '$work/b_fig/scaling.png' ] && [ -s '$work/b_fig/scaling.md' ] &&
           grep -q '^| ddpm |' '$work/b_fig/scaling.md' && grep -q '^| rtk-mala |' '$work/b_fig/scaling.md'"
check "B: a scaling exponent with a 95% interval is printed" \
  grep -Eq '^scaling exponent rtk-mala: b = -?[0-9.]+ \(95% CI \[' "$work/ana_b.log"
check "B: the default scaling criterion is the stored moment KL" \
  grep -q "moment KL (metrics/moment_kl" "$work/b_fig/scaling.md"
if timeout 120 $py "$ana" "$work/b.h5" -o "$work/b_fig_tv" --scaling-metric excess_tv --excess-target 0.05 \
    >"$work/ana_b_tv.log" 2>&1 && grep -q "excess TV (metrics/excess_tv" "$work/b_fig_tv/scaling.md"; then
  ok "B: --scaling-metric excess_tv (and the old --excess-target spelling)"
else
  ko "B: --scaling-metric excess_tv"; cat "$work/ana_b_tv.log"
fi
# B stores no boundaries: the figure comes from metrics/boundary_accuracy (newer
# rtkbench) or is skipped with a note
check "B: boundary figure from metrics/boundary_accuracy, or skipped with a note" \
  bash -c "if [ -s '$work/b_fig/boundary_accuracy.png' ]; then
             $py -c 'import h5py,sys; f=h5py.File(sys.argv[1]); sys.exit(0 if all(\"boundary_accuracy\" in g[\"metrics\"] for g in f[\"runs\"].values()) else 1)' '$work/b.h5'
           else grep -q 'boundary_accuracy.png: no run' '$work/ana_b.log'; fi"

echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
