#!/bin/bash
# What the per-run metrics cost, and two builds side by side (issue 11, diagnostics).
#
#   BEFORE=/path/to/old/rtkbench AFTER=build/rtkbench bash bench/diag_cost.sh [OUTFILE]
#
# Two workloads, run on $RANKS ranks (default 1), alternating the builds $REPS
# times (default 3); each row is one run's time split (metrics/time_phases,
# max over ranks, seconds): the metrics live in `diag` (histograms, sums,
# reductions, the final exact bin probabilities) and `io` (which includes the
# boundary / sliced exact probabilities and the Fréchet distances, computed
# just before they are written).
#   e2e      bench/e2e.sh's largest shape: rtk-mala on mog-random K = 256,
#            d = 1024, N = 256, 100 NFE, no boundary accuracy, no Fréchet distance
#   dim1024  experiments/dim_scaling.ini at d = 1024, ddpm, 10 NFE, N = 20000,
#            every metric on (boundary accuracy at 11 grid times, Fréchet distance
#            with 4 floor sets, 8 slices, moments); then, AFTER only, the same with
#            one metric off at a time (its cost is the drop)
# MPIRUN (mpirun), MPI_ARGS: as bench/e2e.sh.
set -u
out=${1:-diag_cost.txt}
here=$(cd "$(dirname "$0")" && pwd)
BEFORE=${BEFORE:?set BEFORE to the rtkbench to compare against}
AFTER=${AFTER:-$here/../build/rtkbench}
MPIRUN=${MPIRUN:-mpirun}
MPI_ARGS=${MPI_ARGS:-}
RANKS=${RANKS:-1}
REPS=${REPS:-3}
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OPENBLAS_NUM_THREADS=${OPENBLAS_NUM_THREADS:-1}
work=$(mktemp -d "${TMPDIR:-/tmp}/rtk-diag.XXXXXX")
trap 'rm -rf "$work"' EXIT
cat > "$work/e2e.ini" <<EOI
[run]
particles = 256
samplers = rtk-mala
nfe = 100
block = 256
progress = 0
[target]
kind = mog-random
K = 256
dim = 1024
[output]
samples = 0
[metrics]
boundary_accuracy = false
frechet = false
EOI
DIM="$here/../experiments/dim_scaling.ini --set output.samples=0 --set run.progress=0 --set sweep.dim=1024 --set sweep.nfe=10 --set run.samplers=ddpm"
one() { # label binary config args...
  local label=$1 bin=$2; shift 2
  # shellcheck disable=SC2086
  "$MPIRUN" -n "$RANKS" $MPI_ARGS "$bin" run "$@" -o "$work/o.h5" --force > "$work/log" 2>&1 || { echo "# FAILED $label"; tail -3 "$work/log"; return; }
  awk -v l="$label" '/^time split/ {f=1; next} f && /^0 / {printf "%-28s %8s %8s %8s %8s %8s %8s\n", l, $3, $4, $5, $6, $7, $8; exit}' "$work/log"
}
{
  echo "# bench/diag_cost.sh  $(date -u +%Y-%m-%dT%H:%M:%SZ)  $(uname -n), $RANKS rank(s); before: $BEFORE; after: $AFTER"
  printf "%-28s %8s %8s %8s %8s %8s %8s\n" run score rng sampler diag wait io
} | tee "$out"
for r in $(seq "$REPS"); do
  one "e2e before" "$BEFORE" "$work/e2e.ini" | tee -a "$out"
  one "e2e after" "$AFTER" "$work/e2e.ini" | tee -a "$out"
done
for r in $(seq "$REPS"); do
  one "dim1024 before" "$BEFORE" $DIM | tee -a "$out"
  one "dim1024 after" "$AFTER" $DIM | tee -a "$out"
done
for m in "metrics.boundary_accuracy=false" "metrics.frechet=false" "metrics.slices=0" "metrics.moments=false"; do
  one "dim1024 after ${m#metrics.}" "$AFTER" $DIM --set "$m" | tee -a "$out"
done
