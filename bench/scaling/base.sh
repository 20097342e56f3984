#!/bin/bash
# Is the 16-rank efficiency lost in rtkbench/MPI or in the machine?  Compare
# one NP-rank run with NP independent 1-rank processes of 1/NP the size each
# (no MPI communication at all, each pinned to its own core), and with one
# 1-rank process of that size alone (bench/scaling/common.sh for RTKBENCH,
# MPIRUN, MPI_ARGS, OUT).  Appends to $OUT/base.txt.
#   NP      default 16
#   PER     particles per core (default 4096; the NP-rank run has NP * PER)
#   STUDY   default heavy (heavy.ini next to this script)
set -u
here=$(cd "$(dirname "$0")" && pwd)
cd "${WORKDIR:-$PWD}"
source "$here/common.sh"
NP=${NP:-16} PER=${PER:-4096} ini=$here/${STUDY:-heavy}.ini
lscpu | grep -E "^CPU\(s\)|Thread|Core|Socket|Model name" | tee "$OUT/cpu.txt"
rtk1 run "$ini" -o one.h5 --force --set run.particles="$PER" >/dev/null 2>&1
echo "1 process, N=$PER alone: $(jfield one.h5 wall_time) s" | tee -a "$OUT/base.txt"
# shellcheck disable=SC2086
for i in $(seq 0 $((NP - 1))); do
  taskset -c "$i" "$MPIRUN" -n 1 $MPI1_ARGS "$RTKBENCH" run "$ini" -o "p$i.h5" --force --set run.particles="$PER" --set run.seed=$((i + 1)) \
    >/dev/null 2>&1 &
done
wait
w=$(for i in $(seq 0 $((NP - 1))); do jfield "p$i.h5" wall_time; done | sort -g | awk '{v[NR]=$1} END{printf "%s - %s (median %s)", v[1], v[NR], v[int((NR+1)/2)]}')
echo "$NP concurrent independent processes, N=$PER each: $w s" | tee -a "$OUT/base.txt"
# shellcheck disable=SC2086
"$MPIRUN" -n "$NP" $MPI_ARGS "$RTKBENCH" run "$ini" -o m.h5 --force --set run.particles=$((NP * PER)) >/dev/null 2>&1
echo "$NP MPI ranks, N=$((NP * PER)): $(jfield m.h5 wall_time) s" | tee -a "$OUT/base.txt"
h=$((NP / 2))
# shellcheck disable=SC2086
"$MPIRUN" -n "$h" $MPI_ARGS "$RTKBENCH" run "$ini" -o m2.h5 --force --set run.particles=$((h * PER)) >/dev/null 2>&1
echo "$h MPI ranks, N=$((h * PER)) (weak): $(jfield m2.h5 wall_time) s" | tee -a "$OUT/base.txt"
