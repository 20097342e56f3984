#!/bin/bash
# Bitwise identity of two builds (HROW, issue 11 eighth round: rtk-mala's rows interleaved): every case is run by
# both binaries and compared with tests/h5check.py same.  usage: bench/explore/mala_rows_same.sh OLD NEW [WORKDIR]
set -u
old=$1 new=$2 work=${3:-$(mktemp -d)}
src=$(cd "$(dirname "$0")/../.." && pwd)
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
mkdir -p "$work"
fail=0 n=0
heavy="$src/bench/scaling/heavy.ini --set run.particles=600"
mala="--set run.samplers=rtk-mala,rtk-mala-score"
case_() { # name ranks isa ini-and-args...
  local name=$1 ranks=$2 isa=$3
  shift 3
  for b in old new; do
    local bin=$old; [ $b = new ] && bin=$new
    if [ "$isa" = - ]; then
      mpiexec -n "$ranks" "$bin" run "$@" -o "$work/$name.$b.h5" --force >"$work/$name.$b.log" 2>&1
    else
      RTK_VMATH_ISA=$isa mpiexec -x RTK_VMATH_ISA -n "$ranks" "$bin" run "$@" -o "$work/$name.$b.h5" --force \
        >"$work/$name.$b.log" 2>&1
    fi || { echo "FAIL: $name ($b) did not run"; fail=1; }
  done
  n=$((n + 1))
  if /usr/bin/python3 "$src/tests/h5check.py" same "$work/$name.old.h5" "$work/$name.new.h5" >/dev/null; then
    echo "same: $name"
  else
    echo "DIFFER: $name"; fail=1
  fi
}
case_ quickstart 2 - "$src/experiments/quickstart.ini"
case_ repro 2 - "$src/tests/repro.ini" # every sampler; rtk-mala adaptive, rtk-mala-score gauss with a radius
case_ heavy 1 - $heavy
case_ heavy_p32 1 - $heavy --set run.rng=philox4x32
case_ heavy_b37 1 - $heavy --set run.block=37
case_ heavy_score 1 - $heavy --set run.samplers=rtk-mala-score --set run.nfe=60
case_ adaptive 1 - $heavy $mala --set rtk-mala.step_mode=adaptive --set rtk-mala-score.step_mode=adaptive \
  --set rtk-mala-score.quad=simpson --set run.nfe=60 --set run.block=37
case_ radius 1 - $heavy $mala --set rtk-mala.radius=3 --set rtk-mala-score.radius=3 --set run.nfe=60 \
  --set run.block=37
for isa in purec sse2 avx avx512f; do
  case_ "isa_$isa" 1 $isa $heavy $mala --set rtk-mala-score.quad=gauss --set run.nfe=60 --set run.block=37 \
    --set target.dim=19 --set rtk-mala.step_mode=adaptive
done
echo "$n cases, $([ $fail = 0 ] && echo all same || echo SOME DIFFER)"
exit $fail
