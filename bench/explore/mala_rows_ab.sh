#!/bin/bash
# rtk-mala end to end, two builds alternated (HROW, issue 11 eighth round): per repetition and run.rng the
# `sampler` seconds and the score share (score / sum of metrics/time_phases) of each binary.
# usage: bench/explore/mala_rows_ab.sh OLD_RTKBENCH NEW_RTKBENCH [REPS] [PARTICLES]
set -eu
old=$1 new=$2 reps=${3:-4} np=${4:-4096}
src=$(cd "$(dirname "$0")/../.." && pwd)
tmp=$(mktemp -d)
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
printf "%-4s %-11s %-4s %9s %9s %7s\n" rep rng bin sampler_s score_s share
for rep in $(seq 1 "$reps"); do
  for rng in philox4x64 philox4x32; do
    for b in old new; do
      bin=$old; [ $b = new ] && bin=$new
      mpiexec -n 1 "$bin" run "$src/bench/scaling/heavy.ini" --set run.particles="$np" --set output.samples=0 \
        --set run.rng=$rng -o "$tmp/$b.h5" --force >/dev/null
      /usr/bin/python3 - "$tmp/$b.h5" "$rep" "$rng" "$b" <<'PY'
import sys, h5py
with h5py.File(sys.argv[1], "r") as f:
    tp = next(iter(f["runs"].values()))["metrics/time_phases"][()].max(axis=0)  # score rng sampler diag wait io
print(f"{sys.argv[2]:<4} {sys.argv[3]:<11} {sys.argv[4]:<4} {tp[2]:9.4f} {tp[0]:9.4f} {tp[0] / tp.sum():7.4f}")
PY
    done
  done
done
rm -rf "$tmp"
