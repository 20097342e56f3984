#!/bin/bash
# Score plug-ins end to end (issue 9).  usage: test_score_cli.sh RTKBENCH MPIEXEC WORKDIR SRCDIR
#  - rtk-mala with a score without energy: refused by validate and run, exit 2, names rtk-mala-score;
#  - broken weight files (missing layer, shape mismatch, NaN): exit 2 naming the dataset, no output file;
#  - the committed network: every score-only sampler runs; results bitwise identical on 1/2/3 ranks and
#    for another block size; NFE accounting identical to the exact score's; score_error recorded;
#  - a perturbed run's recorded score error matches score.error;
#  - train_score.py: deterministic for a seed, refuses bad arguments.
set -u
bin=$1 mpiexec=$2 work=$3 src=$4
py=/usr/bin/python3
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
mkdir -p "$work"
cd "$src" || exit 2
fail=0
bad() { echo "FAIL: $*"; fail=1; }
net=tests/data/mog_grid_mlp.h5

# --- rtk-mala needs the energy
for cmd in validate run; do
  out="$work/mala_$cmd.h5"; rm -f "$out"
  if [ $cmd = run ]; then o=(-o "$out"); else o=(); fi
  timeout 60 "$bin" $cmd tests/score.ini "${o[@]}" --set run.samplers=ddpm,rtk-mala --set score.model=perturbed \
    >"$work/mala.out" 2>"$work/mala.err"
  rc=$?
  [ $rc = 2 ] || bad "$cmd rtk-mala + perturbed: exit $rc, expected 2"
  grep -q "rtk-mala.*needs the exact energy.*rtk-mala-score" "$work/mala.err" || { bad "$cmd: message"; cat "$work/mala.err"; }
  [ -e "$out" ] && bad "$cmd rtk-mala: output file created"
done
echo "rtk-mala refused: $(head -1 "$work/mala.err")"

# --- broken weight files
$py - "$net" "$work" <<'PY' || bad "could not write the broken files"
import sys, shutil, h5py, numpy as np
src, work = sys.argv[1], sys.argv[2]
def broken(name, edit):
    p = f"{work}/{name}.h5"
    shutil.copy(src, p)
    with h5py.File(p, "r+") as f:
        edit(f)
broken("missing", lambda f: f.__delitem__("layers/2/weight"))
def shape(f):
    w = f["layers/1/weight"][()]
    del f["layers/1/weight"]
    f["layers/1/weight"] = w[:, :-1]
broken("shape", shape)
def nan(f):
    b = f["layers/0/bias"][()]
    b[3] = np.nan
    f["layers/0/bias"][...] = b
broken("nan", nan)
h5py.File(f"{work}/empty.h5", "w").close()
PY
check_broken() { # name ranks expected-text
  local out="$work/broken_$1.h5"; rm -f "$out"
  timeout 60 "$mpiexec" -n "$2" "$bin" run tests/score.ini -o "$out" --set score.file="$work/$1.h5" \
    >"$work/b.out" 2>"$work/b.err"
  local rc=$?
  [ $rc = 2 ] || bad "broken $1 ($2 ranks): exit $rc, expected 2"
  grep -qF -- "$3" "$work/b.err" || { bad "broken $1: stderr lacks '$3'"; cat "$work/b.err"; }
  [ -e "$out" ] && bad "broken $1: output file created"
  echo "broken $1 on $2 ranks: $(grep 'rtkbench: error' "$work/b.err")"
}
check_broken missing 1 "dataset /layers/2/weight is missing"
check_broken shape 3 "dataset /layers/1/weight has shape [128][127], expected [128][128]"
check_broken nan 2 "dataset /layers/0/bias holds a non-finite value"
timeout 60 "$bin" validate tests/score.ini --set score.file="$work/nan.h5" >/dev/null 2>&1
[ $? = 2 ] || bad "validate with a NaN weight: exit code not 2"

# --- the committed network: ranks, block size, NFE
run() { # ranks out [args]
  local n=$1 out=$2; shift 2
  timeout 300 "$mpiexec" -n "$n" "$bin" run tests/score.ini -o "$out" --force "$@" >"$out.log" 2>&1 \
    || { bad "run $n ranks $*"; cat "$out.log"; }
}
run 1 "$work/m1.h5"
run 2 "$work/m2.h5"
run 3 "$work/m3.h5"
run 2 "$work/m2b.h5" --set run.block=37
run 1 "$work/ex.h5" --set score.model=exact
for o in m2 m3 m2b; do
  echo "== mlp: 1 rank vs $o"
  $py tests/h5check.py same "$work/m1.h5" "$work/$o.h5" || bad "mlp results differ: m1 vs $o"
done
$py tests/h5check.py contract "$work/m3.h5" || bad "HDF5 contract"
$py - "$work/m1.h5" "$work/ex.h5" <<'PY' || bad "mlp vs exact checks"
import sys, h5py, numpy as np
with h5py.File(sys.argv[1], "r") as a, h5py.File(sys.argv[2], "r") as b:
    assert sorted(a["runs"]) == sorted(b["runs"])
    for rid in a["runs"]:
        ga, gb = a["runs"][rid], b["runs"][rid]
        s = lambda v: v.decode() if isinstance(v, bytes) else str(v)
        assert s(ga.attrs["score"]) == "mlp" and s(gb.attrs["score"]) == "exact", rid
        for k in ["nfe_total", "nfe_per_segment"]:
            assert np.array_equal(ga["metrics"][k][()], gb["metrics"][k][()]), (rid, k)
        assert not np.array_equal(ga["samples"][()], gb["samples"][()]), f"{rid}: the network changed nothing"
        e, se = ga["metrics/score_error"][()], ga["metrics/score_error_se"][()]
        assert e.shape == ga["times"].shape and np.all(np.isfinite(e)) and np.all(e > 0) and np.all(se > 0), rid
        assert "score_error" not in gb["metrics"], rid
        print(f"{rid}: NFE {ga['metrics/nfe'][()]:.1f} as with the exact score; score error at t = "
              f"{ga['times'][-1]:.3g}: {e[-1]:.4f} +- {se[-1]:.4f}, at T: {e[0]:.4f}")
PY

# --- a perturbed run records the error it was given (at every grid time, within 4 SE incl. calibration)
run 2 "$work/p.h5" --set run.samplers=rtk-ula --set score.model=perturbed --set score.error=0.05 \
  --set score.error_samples=4000 --set score.calibration=16384
$py - "$work/p.h5" <<'PY' || bad "perturbed: recorded score error"
import sys, h5py, numpy as np
with h5py.File(sys.argv[1], "r") as f:
    for rid, g in f["runs"].items():
        e, se = g["metrics/score_error"][()], g["metrics/score_error_se"][()]
        tot = se * np.sqrt(1 + 4000 / 16384)
        z = (e - 0.05) / tot
        print(f"{rid}: score_error {np.round(e, 4)} (z {np.round(z, 2)})")
        assert np.all(np.abs(z) < 4), z
PY

# --- the analysis draws the score figures from these files
for h in m1 p; do
  rm -rf "$work/fig_$h"
  $py analysis/rtk_analyze.py "$work/$h.h5" -o "$work/fig_$h" >"$work/fig_$h.log" 2>&1 || bad "rtk_analyze on $h.h5"
  for o in score_table.md score_accuracy_vs_nfe.png score_plateau.png score_error_vs_t.png; do
    [ -s "$work/fig_$h/$o" ] || { bad "rtk_analyze on $h.h5 wrote no $o"; tail -5 "$work/fig_$h.log"; }
  done
done

# --- train_score.py: determinism and bad arguments
tr() { $py analysis/train_score.py --target "$work/m1.h5" --width 16 --depth 2 --steps 25 --batch 64 --force "$@"; }
tr -o "$work/n1.h5" --seed 5 >/dev/null || bad "train_score.py failed"
tr -o "$work/n2.h5" --seed 5 >/dev/null || bad "train_score.py failed"
tr -o "$work/n3.h5" --seed 6 >/dev/null || bad "train_score.py failed"
$py - "$work" <<'PY' || bad "train_score.py is not deterministic for a seed"
import sys, h5py, numpy as np
w = sys.argv[1]
def load(n):
    with h5py.File(f"{w}/{n}.h5", "r") as f:
        return [f[f"layers/{l}/{k}"][()] for l in range(3) for k in ("weight", "bias")] + [f["training/loss"][()]]
a, b, c = load("n1"), load("n2"), load("n3")
assert all(np.array_equal(x, y) for x, y in zip(a, b)), "same seed, different weights"
assert not all(np.array_equal(x, y) for x, y in zip(a, c)), "different seeds, same weights"
print("train_score.py: same seed -> identical weights and loss curve; another seed -> different")
PY
"$bin" run tests/score.ini -o "$work/n1run.h5" --force --set score.file="$work/n1.h5" --set run.samplers=ddpm \
  >/dev/null 2>&1 || bad "a freshly trained file does not run"
badarg() { # expected-text args...
  local want=$1; shift
  $py analysis/train_score.py "$@" >"$work/t.out" 2>"$work/t.err"
  local rc=$?
  [ $rc = 2 ] || bad "train_score.py $*: exit $rc, expected 2"
  grep -qF -- "$want" "$work/t.err" || { bad "train_score.py $*: stderr lacks '$want'"; cat "$work/t.err"; }
}
badarg "--steps must be >= 1" --target "$work/m1.h5" -o "$work/x.h5" --steps 0
badarg "need 0 < --delta < --T" --target "$work/m1.h5" -o "$work/x.h5" --delta 6
badarg "does not exist" --target "$work/nope.h5" -o "$work/x.h5"
badarg "exists (use --force" --target "$work/m1.h5" -o "$work/n1.h5"
badarg "has no mixture" --target "$work/empty.h5" -o "$work/x.h5"
badarg "one of the arguments --target --config is required" -o "$work/x.h5"
[ $fail = 0 ] && echo "score end-to-end: all checks passed" || echo "score end-to-end: FAILED"
exit $fail
