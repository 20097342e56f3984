#!/bin/bash
# End-to-end throughput of the whole sampler against the score kernel alone and
# the machine's DGEMM peak, all measured in this one invocation (issue 11).
#
#   bash bench/e2e.sh [OUTFILE]        (default: e2e.txt in the working directory)
#
# For (K, d) = (25, 10), (64, 128), (256, 1024) on mog-random (100 NFE, block
# 256, output.samples = 0, no boundary accuracy / Fréchet distance), samplers
# ddpm and rtk-mala, on 1 rank and on $RANKS (default 16) ranks with $RANKS times
# the particles, it reports
#   PNFE/s      particle-NFE per second of the whole run (metrics/nfe_per_second:
#               nfe_total / wall_time, max over ranks)
#   /core       the same per rank
#   kern-alone  particle-NFE per second of rtk_mix_eval alone on one core, block
#               256 (rtk_bench_kernel: kernel GFLOP/s / (8 K d) flops)
#   e2e/kern    /core over kern-alone: the share of the time a perfect sampler
#               (nothing but the kernel) would need; 1 - e2e/kern is the non-kernel share
#   e2e/peak    /core x 8 K d flops over the single-core DGEMM peak (2000^3, same run)
#   score rng smplr diag wait io: metrics/time_phases as the run summary prints it,
#               as shares of their sum: the mean over ranks (row 1), i.e. shares of
#               the ranks' core-seconds (builds before the twelfth round of issue 11
#               printed row 0, the max over ranks of each phase)
# and the timer overhead (RTK_TIMERS=0 against the default) at the cheapest shape.
#
# Environment: RTKBENCH, RTK_BENCH_KERNEL (default: from PATH, else build/),
# MPIRUN (default mpirun), MPI_ARGS (default "--bind-to core"; on the lent
# machine add "--mca plm isolated --mca btl_vader_single_copy_mechanism none"),
# RANKS (16), SCALE (1: multiplies every particle count; DIV divides them),
# SHAPES (default "25x10 64x128 256x1024"), KSECONDS (0.1: trial
# length of rtk_bench_kernel), TAG (a label printed in every row, e.g. before/after),
# TIMERS (1: also measure the timer overhead; 0 for an rtkbench without timers),
# RNG (empty: the default generator; else run.rng for every run, e.g. philox4x32),
# SCHEDULE (empty: the default; else run.schedule for every run: static or dynamic),
# NORMAL (empty: the default transform; else run.normal for every run: box-muller or ziggurat).
# Every rtkbench, also the 1-rank runs, starts under $MPIRUN -n N: on the lent
# machine's image a singleton MPI_Init cannot start its daemon.
set -u
out=${1:-e2e.txt}
here=$(cd "$(dirname "$0")" && pwd)
pick() { command -v "$1" 2>/dev/null || echo "$here/../build/$1"; }
RTKBENCH=${RTKBENCH:-$(pick rtkbench)}
KERNEL=${RTK_BENCH_KERNEL:-$(pick rtk_bench_kernel)}
MPIRUN=${MPIRUN:-mpirun}
MPI_ARGS=${MPI_ARGS:---bind-to core}
RANKS=${RANKS:-16}
SCALE=${SCALE:-1}
KSECONDS=${KSECONDS:-0.1}
TAG=${TAG:-}
RNG=${RNG:-}
SCHEDULE=${SCHEDULE:-}
NORMAL=${NORMAL:-}
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OPENBLAS_NUM_THREADS=${OPENBLAS_NUM_THREADS:-1}
work=$(mktemp -d "${TMPDIR:-/tmp}/rtk-e2e.XXXXXX")
trap 'rm -rf "$work"' EXIT

# particles on one rank per shape: about a second of sampling on a 2020s core
declare -A NP=([25x10]=20480 [64x128]=4096 [256x1024]=256)
shapes=${SHAPES:-25x10 64x128 256x1024}

{
  echo "# bench/e2e.sh $TAG  $(date -u +%Y-%m-%dT%H:%M:%SZ)  $(uname -n)"
  echo "# CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'), $(nproc) cores"
  echo "# rtkbench: $RTKBENCH"
  # shellcheck disable=SC2086
  "$MPIRUN" -n 1 $MPI_ARGS "$RTKBENCH" --version 2>&1 | sed 's/^/# /'
  echo "# run.rng: ${RNG:-(default)}  run.normal: ${NORMAL:-(default)}  run.schedule: ${SCHEDULE:-(default)}"
  echo "# OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-(unset)} RTK_BLAS_AUTOFIX=${RTK_BLAS_AUTOFIX:-(unset)}"
} | tee "$out"

# --- the kernel alone and the DGEMM peak (one process, one core) ---------------
args=()
for s in $shapes; do args+=(--shape "${s%x*}" "${s#*x}" 256); done
"$KERNEL" --seconds "$KSECONDS" "${args[@]}" > "$work/kernel.txt" 2>&1
sed 's/^/# kernel: /' "$work/kernel.txt" | tee -a "$out"
peak=$(sed -n 's/^# peak: DGEMM 2000^3 = \([0-9.]*\) GFLOP\/s.*/\1/p' "$work/kernel.txt")
declare -A KG
for s in $shapes; do
  KG[$s]=$(awk -v K="${s%x*}" -v d="${s#*x}" '$1==K && $2==d && $3==256 {print $5}' "$work/kernel.txt")
done

# --- one run: prints NFE/s and the time split of its single run ----------------
run() { # tag ranks sampler K d N [env...]
  local tag=$1 n=$2 smp=$3 K=$4 d=$5 N=$6
  shift 6
  cat > "$work/e2e.ini" <<EOF
[run]
particles = $N
samplers = $smp
nfe = 100
block = 256
progress = 0
${RNG:+rng = $RNG}
${SCHEDULE:+schedule = $SCHEDULE}
${NORMAL:+normal = $NORMAL}
[target]
kind = mog-random
K = $K
dim = $d
[output]
samples = 0
[metrics]
boundary_accuracy = false
frechet = false
EOF
  local log=$work/run.log
  # shellcheck disable=SC2086
  env "$@" "$MPIRUN" -n "$n" $MPI_ARGS "$RTKBENCH" run "$work/e2e.ini" -o "$work/e2e.h5" --force > "$log" 2>&1 \
    || { echo "# FAILED: $tag $n $smp $K $d"; tail -5 "$log" | sed 's/^/#   /'; return 1; }
  # summary row: run sampler sweep NFE accuracy ±95% floor excess mode-TV accept wall[s] NFE/s
  local row split
  row=$(awk '/^run +sampler +sweep/ {f=1; next} f && /^0 / {print; exit}' "$log")
  split=$(awk '/^time split/ {f=1; next} f && /^0 / {print; exit}' "$log")
  [ -n "$split" ] || split="0 $smp - - - - - -" # an rtkbench without run timers
  local nps wall kg=${KG[${K}x$d]}
  nps=$(echo "$row" | awk '{print $NF}')
  wall=$(echo "$row" | awk '{print $(NF-1)}')
  echo "$split" | awk -v tag="$tag" -v n="$n" -v smp="$smp" -v K="$K" -v d="$d" -v N="$N" -v nps="$nps" -v wall="$wall" \
    -v kg="$kg" -v peak="$peak" '{
      f = 8 * K * d; core = nps / n; ka = kg * 1e9 / f
      tot = 0; for (i = 3; i <= 8; i++) if ($i != "-") tot += $i
      sh = ""; for (i = 3; i <= 8; i++) sh = sh sprintf(" %5s", ($i == "-" || tot <= 0) ? "-" : sprintf("%.2f", $i / tot))
      printf "%-8s %5d %-9s %4d %5d %7d %8.2f %10.3e %10.3e %10.3e %9.3f %9.3f%s\n", tag, n, smp, K, d, N, wall, nps, core, ka,
             core / ka, core * f / (peak * 1e9), sh }'
}

{
  echo "# single-core DGEMM peak: $peak GFLOP/s"
  printf "%-8s %5s %-9s %4s %5s %7s %8s %10s %10s %10s %9s %9s %5s %5s %5s %5s %5s %5s\n" tag ranks sampler K d N "wall[s]" \
    "PNFE/s" "/core" kern-alone e2e/kern e2e/peak score rng smplr diag wait io
} | tee -a "$out"
for s in $shapes; do
  K=${s%x*} d=${s#*x} N=$(( ${NP[$s]:-1024} * SCALE / ${DIV:-1} ))
  for smp in ddpm rtk-mala; do
    run "${TAG:-e2e}" 1 "$smp" "$K" "$d" "$N" | tee -a "$out"
    run "${TAG:-e2e}" "$RANKS" "$smp" "$K" "$d" $(( N * RANKS )) | tee -a "$out"
  done
done
# timer overhead: the cheapest shape, where the fine timers cost most (two rdtsc per rng call)
N=$(( ${NP[25x10]} * SCALE / ${DIV:-1} ))
[ "${TIMERS:-1}" = 1 ] && for rep in 1 2; do
  run "timers=on" 1 ddpm 25 10 "$N" | tee -a "$out"
  run "timers=0" 1 ddpm 25 10 "$N" RTK_TIMERS=0 | tee -a "$out"
done
echo "# done $(date -u +%Y-%m-%dT%H:%M:%SZ)" | tee -a "$out"
