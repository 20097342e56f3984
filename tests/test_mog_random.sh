#!/bin/bash
# MPI-level checks on a target with unequal variances and skewed weights
# (tests/mog_random.ini: mog-random, K = 6, variances 0.01..0.3, Dirichlet(0.5)).
#  - 3 ranks vs 1 rank: bitwise identical;
#  - every metric of the file recomputed independently (tests/h5verify.py);
#  - ddpm, rtk-mala and pmm at 100 NFE are statistically indistinguishable
#    from exact samples (accuracy, sliced accuracy, mode TV within 5 s.d. of
#    N exact samples), and rtk-uld at the same budget is not (the check has power).
# usage: test_mog_random.sh RTKBENCH MPIEXEC WORKDIR SRCDIR
set -u
bin=$1 mpiexec=$2 work=$3 src=$4
py=/usr/bin/python3
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
mkdir -p "$work"
rm -f "$work"/mr*.h5
fail=0
ok() { echo "PASS $1"; }
bad() { echo "FAIL $1"; fail=1; }
cfg="$src/tests/mog_random.ini"
for n in 3 1; do
  timeout 300 "$mpiexec" -n $n --oversubscribe "$bin" run "$cfg" -o "$work/mr$n.h5" >"$work/mr$n.log" 2>&1 \
    && ok "study on $n ranks" || { bad "study on $n ranks"; cat "$work/mr$n.log"; }
done
$py "$src/tests/h5check.py" contract "$work/mr3.h5" >/dev/null && ok "contract" || bad "contract"
$py "$src/tests/h5check.py" same "$work/mr1.h5" "$work/mr3.h5" && ok "1 rank == 3 ranks (bitwise)" || bad "1 vs 3 ranks"
$py "$src/tests/h5verify.py" "$work/mr3.h5" && ok "every metric recomputed independently" || bad "h5verify"
$py "$src/tests/h5verify.py" near-exact "$work/mr3.h5" exact ddpm rtk-mala pmm \
  && ok "ddpm, rtk-mala, pmm at 100 NFE are at the exact-sample level" || bad "near-exact"
if $py "$src/tests/h5verify.py" near-exact "$work/mr3.h5" rtk-uld >/dev/null; then
  bad "rtk-uld at 100 NFE passed the near-exact check (the check has no power)"
else
  ok "rtk-uld at 100 NFE is resolved from exact samples"
fi
echo "$([ $fail = 0 ] && echo '1 passed, 0 failed' || echo '0 passed, 1 failed')"
exit $fail
