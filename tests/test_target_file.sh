#!/bin/bash
# mog-file targets (issue 8): the loader refuses every broken file with exit 2,
# a message naming the file and the dataset (and index), no output file and no
# hung rank (1 and 3 ranks); a good file round-trips bitwise into /target with
# its SHA-256; exact samples match the file's analytic moments and mode law;
# the Fréchet distance is recomputed independently, sits on its floor for
# exact samples and detects a poor sampler; results are bitwise identical on
# 1, 2 and 3 ranks and another block size.
# usage: test_target_file.sh RTKBENCH MPIEXEC WORKDIR SRCDIR
set -u
bin=$1 mpiexec=$2 work=$3 src=$4
py=/usr/bin/python3
tgt=$src/tests/data/digits_d16_k10.h5
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
rm -rf "$work"; mkdir -p "$work"
. "$src/tests/testlib.sh"
cat >"$work/study.ini" <<INI
[run]
particles = 1200
seed = 3
samplers = exact, ddpm, rtk-mala-score
nfe = 20
block = 64
[target]
kind = mog-file
file = $tgt
[metrics]
frechet_sets = 3
INI

# --- broken files: exit 2, message names file + dataset, no output, no hang
refuse() { # ranks expected-text [rtkbench args...]
  local n=$1 expect=$2
  shift 2
  local out="$work/refused.h5"
  rm -f "$out"
  timeout 60 "$mpiexec" -n "$n" --oversubscribe "$bin" "$@" </dev/null >"$work/err.log" 2>&1
  local rc=$?
  if [ $rc -ne 2 ]; then ko "exit $rc (want 2) for: $*"; cat "$work/err.log"; return; fi
  if ! grep -qF -- "$expect" "$work/err.log"; then ko "message lacks '$expect' for: $*"; cat "$work/err.log"; return; fi
  if [ -e "$out" ]; then ko "output file left behind for: $*"; return; fi
  ok "refused ($n ranks): $expect"
}
$py "$src/tests/check_target.py" broken "$tgt" "$work/broken" >"$work/cases.txt" || ko "could not write the broken files"
i=0
while IFS='|' read -r name file expect; do
  n=1; [ $((i % 3)) = 0 ] && n=3   # every third case also on 3 ranks
  refuse $n "target file '$file': $expect" run "$work/study.ini" -o "$work/refused.h5" --set target.file="$file"
  i=$((i + 1))
done <"$work/cases.txt"
[ "$i" -ge 20 ] || ko "only $i broken-file cases"
refuse 2 "target file '$work/missing.h5': No such file" run "$work/study.ini" -o "$work/refused.h5" --set target.file="$work/missing.h5"
refuse 1 "target file '$work': not a regular file" run "$work/study.ini" -o "$work/refused.h5" --set target.file="$work"
refuse 1 "target.dim = 15 disagrees with the file" run "$work/study.ini" -o "$work/refused.h5" --set target.dim=15
refuse 3 "has SHA-256" run "$work/study.ini" -o "$work/refused.h5" --set target.sha256=00ff
refuse 1 "needs a file" run "$work/study.ini" -o "$work/refused.h5" --set target.file=
refuse 1 "/variances[2][7] is 0" validate "$work/study.ini" --set target.file="$work/broken/zero_variance.h5"
# the message carries the INI location of target.file
sed "s|^file = .*|file = $work/broken/nan_mean.h5|" "$work/study.ini" >"$work/bad.ini"
refuse 3 "bad.ini:9: [target] target file '$work/broken/nan_mean.h5': /means[3][5] is nan" run "$work/bad.ini" -o "$work/refused.h5"

# --- good file: round trip, bitwise across ranks and blocks
run() { # ranks out [args]
  local n=$1 out=$2
  shift 2
  timeout 300 "$mpiexec" -n "$n" --oversubscribe "$bin" run "$work/study.ini" -o "$out" --force "$@" </dev/null >"$out.log" 2>&1 \
    || { ko "run with $n ranks $*"; cat "$out.log"; }
}
run 1 "$work/r1.h5"
run 2 "$work/r2.h5"
run 3 "$work/r3.h5" --set run.block=37
$py "$src/tests/check_target.py" roundtrip "$tgt" "$work/r2.h5" && ok "round trip" || ko "round trip"
$py "$src/tests/h5check.py" contract "$work/r3.h5" && ok "contract" || ko "contract"
for o in r2 r3; do
  $py "$src/tests/h5check.py" same "$work/r1.h5" "$work/$o.h5" && ok "r1 vs $o bitwise equal" || ko "r1 vs $o not bitwise equal"
done
"$bin" validate "$work/study.ini" >"$work/validate.log" 2>&1 && grep -q "OK" "$work/validate.log" && ok "validate" || ko "validate"

# --- exact samples vs the file's analytic law; Fréchet distance calibration and power
run 2 "$work/exact.h5" --set run.samplers=exact --set run.particles=20000 --set metrics.frechet_sets=16
$py "$src/tests/check_target.py" exact "$tgt" "$work/exact.h5" && ok "exact sampler vs the file's law" || ko "exact sampler vs the file's law"
run 2 "$work/poor.h5" --set run.samplers=ddpm --set run.nfe=50 --set run.particles=20000 \
  --set metrics.frechet_sets=16
$py "$src/tests/check_target.py" detect "$work/poor.h5" 0000-ddpm && ok "FD detects ddpm at 50 NFE" || ko "FD did not detect ddpm at 50 NFE"

# --- d = 784, K = 1000 (a pixel-space-sized mixture): every metric still there and sane
$py - "$work/big.h5" <<'PY' || ko "could not write the big target"
import sys, h5py, numpy as np
rng = np.random.default_rng(7)
K, d = 1000, 784
w = rng.random(K) + 0.5
w /= w.sum()
with h5py.File(sys.argv[1], "w") as f:
    f["weights"] = w
    f["means"] = 0.4 * rng.standard_normal((K, d))
    f["variances"] = rng.uniform(0.02, 0.3, (K, d))
    g = f.create_group("decode")
    g["mean"] = np.zeros(d)
    g["image_shape"] = np.array([28, 28])
PY
run 2 "$work/bigres.h5" --set target.file="$work/big.h5" --set run.samplers=exact,ddpm --set run.nfe=6 \
  --set run.particles=512 --set output.samples=8 --set metrics.frechet_sets=2
$py - "$work/bigres.h5" <<'PY' && ok "metrics at d = 784, K = 1000" || ko "metrics at d = 784, K = 1000"
import sys, h5py, numpy as np
with h5py.File(sys.argv[1], "r") as f:
    assert f["target/means"].shape == (1000, 784)
    for rid, g in f["runs"].items():
        m = g["metrics"]
        vals = {k: float(m[k][()]) for k in ["marginal_accuracy", "sliced_accuracy", "mode_tv", "frechet_distance",
                                             "frechet_floor", "mean_error", "moment_kl"]}
        assert all(np.isfinite(v) for v in vals.values()), (rid, vals)
        assert m["mode_counts"][()].sum() == 512 and m["marginal_tv"].shape == (784,), rid
        assert g["target"].id == f["target"].id or np.array_equal(g["target/means"][()], f["target/means"][()]), rid
        print(rid, {k: round(v, 4) for k, v in vals.items()})
    ex = f["runs/0000-exact/metrics"]
    assert abs(ex["excess_tv"][()]) < 0.01, ex["excess_tv"][()]
PY
summary
