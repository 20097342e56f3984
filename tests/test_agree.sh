#!/bin/bash
# A random-number option samples the same law as the default: the quickstart study (mog-grid, d = 10, 20000
# particles; ddpm on two grids and rtk-mala), 2 ranks, with the reference settings and with each variant, and
# h5check.py agree: marginal accuracy, mode TV and acceptance within the 95% bound of their difference
# (independent streams), the same NFE.  h5verify on the first variant's file; `rtkbench info` of the last
# variant's file must print a line matching INFO_REGEX; a different study (half the MALA step, fewer ddpm steps,
# under the first variant's settings) must not be accepted.
# usage: test_agree.sh RTKBENCH MPIEXEC WORKDIR SRCDIR INFO_REGEX "REFNAME --set ..." "NAME --set ..." ...
#   (mpi.rng32_agree: run.rng = philox4x32 vs philox4x64; mpi.zig_agree: run.normal = ziggurat, both generators,
#   vs box-muller.  cpu vs cuda for both: tests/test_gpu.sh cross.)
set -u
bin=$1 mpiexec=$2 work=$3 src=$4 info=$5
shift 5
py=/usr/bin/python3
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
mkdir -p "$work"
fail=0
run() { # name, extra --set arguments
  local name=$1
  shift
  timeout 300 "$mpiexec" -n 2 --oversubscribe "$bin" run "$src/experiments/quickstart.ini" -o "$work/$name.h5" --force \
    --set run.samplers=ddpm,rtk-mala "$@" >"$work/$name.log" 2>&1 || { echo "FAIL: run $name"; cat "$work/$name.log"; fail=1; }
}
read -r ref refset <<<"$1"
shift
run "$ref" $refset
first= firstset= last=
for spec in "$@"; do
  read -r name set <<<"$spec"
  run "$name" $set
  echo "== $ref vs $name"
  $py "$src/tests/h5check.py" agree "$work/$ref.h5" "$work/$name.h5" || fail=1
  [ -z "$first" ] && first=$name firstset=$set
  last=$name
done
$py "$src/tests/h5verify.py" "$work/$first.h5" || fail=1
"$bin" info "$work/$last.h5" | grep -q "$info" || { echo "FAIL: info of $last.h5 has no line matching '$info'"; fail=1; }
# the comparison can fail: the same study with half the MALA step size and fewer ddpm steps is another law
run other $firstset --set rtk-mala.step=0.05 --set ddpm.nfe=20
if $py "$src/tests/h5check.py" agree "$work/$ref.h5" "$work/other.h5" >/dev/null; then
  echo "FAIL: agree accepted a different study"; fail=1
fi
[ $fail = 0 ] && echo "1 passed, 0 failed" || echo "0 passed, 1 failed"
exit $fail
