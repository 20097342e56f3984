#!/bin/bash
# One device call of bench/remeasure.sh: run on the lent machine from the repository root,
#   bash bench/device/remeasure_call.sh BUNDLE TARGETS GROUP...
# BUNDLE: a bench/device/pack.sh folder (carried); TARGETS: a carried folder with the git-ignored target
# files (bench/remeasure.sh's TARGETS); GROUP: remeasure.sh groups or study names, run one after the
# other under one DEADLINE (default 540 s from the start of this script). EXTRA, RANKS, RESUME_FROM and
# PM_SAMPLES pass through to remeasure.sh; a GROUP written NAME:OPTIONS (e.g.
# "score_error_fashion:--set output.samples=0") adds OPTIONS to EXTRA for that group alone. Everything remeasure.sh writes (OUTDIR = $OUT/rm) comes back as
# one tar archive cut into 15-MiB parts ($OUT/rm.tar.aa, .ab, ...; the run tool returns at most 8 files of
# 16 MiB): at home, `cat rm.tar.* | tar x`.
set -u
B=$1 T=$2; shift 2
source "$B/env.sh" >/dev/null
export RTKBENCH=$RTK_RT/bin/rtkbench TARGETS=$T COMPRESS=1
export MPI_ARGS="--bind-to core --mca plm isolated --mca btl_vader_single_copy_mechanism none"
START=$(date +%s) D=${DEADLINE:-540}
for g in "$@"; do
  left=$(( D - ($(date +%s) - START) ))
  [ "$left" -lt 20 ] && { echo "group $g: not started (deadline)"; continue; }
  opt=
  case "$g" in *:*) opt=${g#*:} g=${g%%:*} ;; esac
  DEADLINE=$left EXTRA="${EXTRA:-} $opt" bash bench/remeasure.sh "$g" "$OUT/rm"
done
cat "$OUT/rm/times.txt" 2>/dev/null
( cd "$OUT" && tar cf rm.tar rm && split -b 15M rm.tar rm.tar. && rm -rf rm.tar rm )
ls -la "$OUT"
