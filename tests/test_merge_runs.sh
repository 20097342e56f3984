#!/bin/bash
# bench/scaling/merge_runs.py: a study run in pieces (a base file with the
# first samplers, then one file per remaining sampler, one of them
# overlapping the base) merges into a file bitwise equal to the whole study
# run at once; a part whose overlapping run differs is refused (exit 1).
# usage: test_merge_runs.sh RTKBENCH MPIEXEC WORKDIR SRCDIR
set -u
bin=$1 mpiexec=$2 work=$3 src=$4
py=/usr/bin/python3
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OPENBLAS_NUM_THREADS=1
mkdir -p "$work"
rm -f "$work"/*.h5
fail=0
ok() { echo "PASS $1"; }
bad() { echo "FAIL $1"; fail=1; }
cfg="$src/experiments/dim_scaling.ini"
S="--set output.samples=20 --set run.progress=0 --set sweep.dim=2,4 --set sweep.nfe=10,25 --set run.particles=500"
run() { # out args...
  local out=$1; shift
  # shellcheck disable=SC2086
  "$mpiexec" -n 2 --oversubscribe "$bin" run "$cfg" -o "$work/$out" --force $S "$@" > "$work/$out.log" 2>&1 || { bad "run $out"; cat "$work/$out.log"; }
}
run whole.h5
run base.h5 --set run.samplers=exact,ddpm
run mala.h5 --set run.samplers=rtk-mala
run tail.h5 --set run.samplers=ddpm,rtk-uld   # ddpm again: compared, not copied
val="$bin validate $cfg $S"
$py "$src/bench/scaling/merge_runs.py" "$work/merged.h5" "$work/base.h5" "$work/mala.h5" "$work/tail.h5" --validate "$val" \
  && ok "merge" || bad "merge"
$py "$src/tests/h5check.py" same "$work/whole.h5" "$work/merged.h5" && ok "merged == whole study (bitwise, same run ids)" || bad "merged vs whole"
# a part computed with another seed overlaps the base with different numbers: refused
run other.h5 --set run.samplers=ddpm --set run.seed=9
if $py "$src/bench/scaling/merge_runs.py" "$work/bad.h5" "$work/base.h5" "$work/other.h5" --validate "$val" 2>/dev/null; then
  bad "a differing overlap was accepted"
else
  ok "a differing overlap is refused"
fi
echo "$([ $fail = 0 ] && echo '1 passed, 0 failed' || echo '0 passed, 1 failed')"
exit $fail
