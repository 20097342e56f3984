#!/bin/bash
# run.rng = philox4x32 samples the same law as the default philox4x64: the quickstart study (mog-grid, d = 10,
# 20000 particles; ddpm on two grids and rtk-mala) with both generators, 2 ranks each, and
# h5check.py agree: marginal accuracy, mode TV and acceptance within the 95% bound of their difference
# (independent streams), the same NFE.  (cpu vs cuda with philox4x32: tests/test_gpu.sh cross.)
# usage: test_rng32.sh RTKBENCH MPIEXEC WORKDIR SRCDIR
set -u
bin=$1 mpiexec=$2 work=$3 src=$4
py=/usr/bin/python3
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
mkdir -p "$work"
fail=0
for g in philox4x64 philox4x32; do
  timeout 300 "$mpiexec" -n 2 --oversubscribe "$bin" run "$src/experiments/quickstart.ini" -o "$work/$g.h5" --force \
    --set run.samplers=ddpm,rtk-mala --set run.rng=$g >"$work/$g.log" 2>&1 || { echo "FAIL: run $g"; cat "$work/$g.log"; fail=1; }
done
$py "$src/tests/h5check.py" agree "$work/philox4x64.h5" "$work/philox4x32.h5" || fail=1
$py "$src/tests/h5verify.py" "$work/philox4x32.h5" || fail=1
# the comparison can fail: the same study with half the MALA step size is another law
"$mpiexec" -n 2 --oversubscribe "$bin" run "$src/experiments/quickstart.ini" -o "$work/other.h5" --force \
  --set run.samplers=ddpm,rtk-mala --set run.rng=philox4x32 --set rtk-mala.step=0.05 --set ddpm.nfe=20 \
  >"$work/other.log" 2>&1 || { echo "FAIL: run other"; fail=1; }
if $py "$src/tests/h5check.py" agree "$work/philox4x64.h5" "$work/other.h5" >/dev/null; then
  echo "FAIL: agree accepted a different study"; fail=1
fi
[ $fail = 0 ] && echo "1 passed, 0 failed" || echo "0 passed, 1 failed"
exit $fail
