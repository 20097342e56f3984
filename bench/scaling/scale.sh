#!/bin/bash
# Strong and weak scaling of rtkbench on one node (bench/scaling/common.sh for
# RTKBENCH, MPIRUN, MPI_ARGS, OUT).  Appends to $OUT/scaling.txt one line per
# run: study, mode, ranks, total seconds of the mpirun, metrics/wall_time
# (kernel, max over ranks), marginal accuracy, N, and the time split.
#   STUDIES   default "heavy light" (heavy.ini, light.ini next to this script)
#   RANKS     default "1 2 4 8 16"
#   STRONG_N  particles of the strong-scaling runs (default: the study's own)
#   WEAK_N    particles per rank of the weak-scaling runs (default: the study's own)
set -u
here=$(cd "$(dirname "$0")" && pwd)
cd "${WORKDIR:-$PWD}"
source "$here/common.sh"
rtk1 --version || exit 1
for study in ${STUDIES:-heavy light}; do
  base=$(grep '^particles' "$here/$study.ini" | awk '{print $3}')
  for n in ${RANKS:-1 2 4 8 16}; do
    for mode in strong weak; do
      [ $mode = weak ] && [ "$n" = 1 ] && continue
      if [ $mode = weak ]; then N=$(( ${WEAK_N:-$base} * n )); else N=${STRONG_N:-$base}; fi
      rm -f out.h5
      t0=$(date +%s.%N)
      # shellcheck disable=SC2086
      "$MPIRUN" -n "$n" $MPI_ARGS "$RTKBENCH" run "$here/$study.ini" -o out.h5 --force --set run.particles=$N \
        > log.txt 2>&1 || { cat log.txt; exit 1; }
      t1=$(date +%s.%N)
      echo "$study $mode ranks=$n total_s=$(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.2f", b - a}') wall_s=$(jfield out.h5 wall_time) acc=$(jfield out.h5 marginal_accuracy) N=$N split[score rng sampler diag wait io]= $(split log.txt)" \
        | tee -a "$OUT/scaling.txt"
    done
  done
done
