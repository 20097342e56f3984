#!/bin/bash
# The per-run metrics that rtkbench shares out over the ranks (exact bin
# probabilities by coordinate ranges, Fréchet distances by set, packed
# boundary-histogram reductions; tests/diag_shared.ini is above the sharing
# thresholds): 1 rank vs 3 ranks bitwise identical, and every metric
# recomputed independently (tests/h5verify.py).
# usage: test_diag_shared.sh RTKBENCH MPIEXEC WORKDIR SRCDIR
set -u
bin=$1 mpiexec=$2 work=$3 src=$4
py=/usr/bin/python3
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OPENBLAS_NUM_THREADS=1
mkdir -p "$work"
rm -f "$work"/ds*.h5
fail=0
ok() { echo "PASS $1"; }
bad() { echo "FAIL $1"; fail=1; }
cfg="$src/tests/diag_shared.ini"
for n in 3 1; do
  timeout 300 "$mpiexec" -n $n --oversubscribe "$bin" run "$cfg" -o "$work/ds$n.h5" >"$work/ds$n.log" 2>&1 \
    && ok "study on $n ranks" || { bad "study on $n ranks"; cat "$work/ds$n.log"; }
done
$py - "$work/ds3.h5" <<'PY' && ok "boundary accuracy, sliced accuracy and Fréchet floor sets present" || bad "metrics missing"
import sys, h5py
with h5py.File(sys.argv[1], "r") as f:
    for rid, g in f["runs"].items():
        m = g["metrics"]
        need = ["frechet_floor_sets", "sliced_accuracy"] + ([] if rid.endswith("exact") else ["boundary_accuracy"])
        missing = [k for k in need if k not in m]
        if missing:
            sys.exit(f"{rid}: {missing} missing")
PY
$py "$src/tests/h5check.py" same "$work/ds1.h5" "$work/ds3.h5" && ok "1 rank == 3 ranks (bitwise)" || bad "1 vs 3 ranks"
$py "$src/tests/h5verify.py" "$work/ds3.h5" && ok "every metric recomputed independently" || bad "h5verify"
echo "$([ $fail = 0 ] && echo '1 passed, 0 failed' || echo '0 passed, 1 failed')"
exit $fail
