#!/bin/bash
# Re-measure the studies behind docs/results.md's tables (its "Re-measured"
# table: every row with its options), one results file per study, resumable.
#
#   bash bench/remeasure.sh GROUP [OUTDIR]        (from the repository root)
#   bash bench/remeasure.sh list                  groups, studies, estimated times
#
# GROUP: g1 g2 g3 dim_main dim_tuned, or all (one after the other), or one study name.
# OUTDIR (default $OUT, else results/remeasure): <study>.h5 per study, <study>.log,
#   times.txt (one line per study: name, wall seconds, exit code).
# Environment:
#   RTKBENCH   the binary (default: rtkbench on PATH, e.g. after `source BUNDLE/env.sh`, else build/rtkbench)
#   MPIRUN     default mpirun;  MPI_ARGS  default "--bind-to core"; on the lent machine's image add
#              "--mca plm isolated --mca btl_vader_single_copy_mechanism none" (bench/device/README.md)
#   RANKS      MPI ranks per study (default: nproc); --oversubscribe is added when RANKS > nproc
#   DEADLINE   seconds after the start of this call at which the running study gets SIGTERM
#              (a clean stop, exit 3; the next call of the same GROUP resumes it). Default 540:
#              a call stays under the lent machine's 600-s limit. 0 = none.
#   RESUME_FROM  folder with the previous call's files (<study>.h5 or <study>.h5.xz): copied to
#              OUTDIR when OUTDIR has none, then continued with --resume (a complete file costs
#              a checksum pass, nothing is recomputed)
#   COMPRESS   1 (default): xz every <study>.h5 of the group at the end (<study>.h5.xz: what to
#              carry back; `xz -d` before the analysis); 0: leave them
#   TARGETS    folder with fashion_mnist_d64_k100.h5, fashion_mnist_d784_k100.h5 and the network
#              fashion_mnist_d64_k100_mlp.h5 (default targets/; git-ignored, so carry them to the
#              lent machine). They are linked into targets/ so that the resolved configuration,
#              and with it --resume, does not depend on where they were carried.
#   EXTRA      options added to every study, e.g. "--set run.rng=philox4x32 --set run.normal=ziggurat"
#              to measure another generator before it is the default (keep them the same on --resume)
#   PM_SAMPLES paper_mog's output.samples (default -1 = all, as in the docs: 324 MB; its
#              hist_x2/clusters figures use the stored samples). Other studies set theirs as the docs do.
# Every study prints its wall seconds; a study whose file is already complete is cheap.
# Tables and figures from the files: analysis/results_tables.py (show / check / figures).
#
# Estimated wall time per group on 64 ranks, scaled from the times in docs/results.md
# (16-rank lent and 2-rank local times x ranks / 64, plus about 3 s start-up per study);
# the rank scaling of small studies is worse than linear, so read them as lower bounds x 2:
#   g1         quickstart, paper_mog, paper_mog_early, solvers, solvers_smc, solvers_taylor   ~ 1-2 min
#   g2         fashion_mnist, fmnist_rtk16, fmnist_rtk_segments, fashion_mnist_pixels,
#              pixels_init, pixels_adaptive, pixels_geometric, pixels_geometric100             ~ 2-3 min
#   g3         score_error, score_error_fashion, fors, fors_dim, fors_linear                   ~ 1-2 min
#   dim_main   dim_scaling (220 runs; 16 064 CPU-s on the 16-core machine)                     ~ 4-7 min, maybe 2 calls
#   dim_tuned  dim_scaling_tuned (140 runs; 11 840 CPU-s)                                      ~ 3-5 min, maybe 2 calls
# (The 64-core machine of the last re-measurement did 69 of dim_scaling's 220 runs and 37 of
# the tuned study's 140 in one 387-s call: call a dim group again until it prints "complete".)
set -u
cd "$(dirname "$0")/.." || exit 2
ROOT=$PWD
GROUP=${1:-list}
OUTDIR=${2:-${OUT:-results/remeasure}}
RTKBENCH=${RTKBENCH:-$(command -v rtkbench || echo "$ROOT/build/rtkbench")}
MPIRUN=${MPIRUN:-mpirun}
MPI_ARGS=${MPI_ARGS:---bind-to core}
NCPU=$(nproc)
RANKS=${RANKS:-$NCPU}
DEADLINE=${DEADLINE:-540}
COMPRESS=${COMPRESS:-1}
TARGETS=${TARGETS:-targets}
PM_SAMPLES=${PM_SAMPLES:--1}
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OPENBLAS_NUM_THREADS=1
[ "$RANKS" -gt "$NCPU" ] && MPI_ARGS="$MPI_ARGS --oversubscribe"
T0=$(date +%s)

S0="--set output.samples=0"
FM_FOLLOW="--set run.samplers=exact,rtk-mala,rtk-mala-score,rtk-uld --set sweep.nfe=50,100,200,500 --set sweep.rtk-mala.segments=10,25 --set sweep.rtk-mala-score.segments=10,25 --set sweep.rtk-uld.segments=10,25 --set metrics.boundary_accuracy=false"
PX="--set run.samplers=exact,rtk-mala --set run.particles=4000 --set sweep.nfe=500 --set rtk-mala.segments=50 $S0"

# the studies: name | config | options (exactly the docs' commands; --resume instead of --force)
studies() {
  cat <<EOF
quickstart|experiments/quickstart.ini|
paper_mog|experiments/paper_mog.ini|--set output.samples=$PM_SAMPLES
paper_mog_early|experiments/paper_mog.ini|--set run.samplers=exact,ddim,dpm-solver++ --set time.delta=0.001 --set time.t_min=0.002 --set sweep.nfe=100,500 --set sweep.time.grid=geometric $S0
solvers|experiments/solvers.ini|--set run.samplers=exact,ddpm,ddim,dpm-solver++,heun,unipc,pc,rtk-mala $S0
solvers_smc|experiments/solvers.ini|--set run.samplers=smc $S0
solvers_taylor|experiments/solvers.ini|--set run.samplers=dpm-solver++ --set dpm-solver++.variant=taylor --set sweep.dpm-solver++.order=3 --set sweep.nfe=10,20,50 $S0
fashion_mnist|experiments/fashion_mnist.ini|--set output.samples=10
fmnist_rtk16|experiments/fashion_mnist.ini|$FM_FOLLOW --set output.samples=10
fmnist_rtk_segments|experiments/fashion_mnist.ini|--set run.samplers=exact,rtk-mala --set run.particles=4000 --set sweep.nfe=500 --set sweep.rtk-mala.segments=25,50,100,200 --set output.samples=10
fashion_mnist_pixels|experiments/fashion_mnist_pixels.ini|--set output.samples=10
pixels_init|experiments/fashion_mnist_pixels.ini|$PX --set sweep.rtk-mala.init=gaussian,mean
pixels_adaptive|experiments/fashion_mnist_pixels.ini|$PX --set rtk-mala.step_mode=adaptive
pixels_geometric|experiments/fashion_mnist_pixels.ini|$PX --set rtk-mala.grid=geometric
pixels_geometric100|experiments/fashion_mnist_pixels.ini|$PX --set rtk-mala.grid=geometric --set rtk-mala.segments=100 --set rtk-mala.step_mode=adaptive
score_error|experiments/score_error.ini|--set output.samples=1000
score_error_fashion|experiments/score_error_fashion.ini|
fors|experiments/fors.ini|
fors_dim|experiments/fors_dim.ini|
fors_linear|experiments/fors.ini|--set run.particles=2000 --set run.samplers=exact,fors --set fors.curvature=0 --set sweep.fors.bound=1 --set sweep.nfe=128,512,2048,8192
dim_scaling|experiments/dim_scaling.ini|$S0
dim_scaling_tuned|experiments/dim_scaling.ini|$S0 --set run.samplers=rtk-mala,rtk-uld --set rtk-mala.step_mode=adaptive --set rtk-uld.step=0.3
EOF
}

group() {
  case "$1" in
    g1) echo quickstart paper_mog paper_mog_early solvers solvers_smc solvers_taylor ;;
    g2) echo fashion_mnist fmnist_rtk16 fmnist_rtk_segments fashion_mnist_pixels pixels_init pixels_adaptive pixels_geometric pixels_geometric100 ;;
    g3) echo score_error score_error_fashion fors fors_dim fors_linear ;;
    dim_main) echo dim_scaling ;;
    dim_tuned) echo dim_scaling_tuned ;;
    all) echo "$(group g1) $(group g2) $(group g3) dim_scaling dim_scaling_tuned" ;;
    *) studies | cut -d'|' -f1 | grep -qx "$1" && echo "$1" ;;
  esac
}

if [ "$GROUP" = list ]; then
  for g in g1 g2 g3 dim_main dim_tuned; do echo "$g: $(group $g)"; done
  echo
  studies | while IFS='|' read -r n c o; do echo "$n: $RTKBENCH run $c -o $OUTDIR/$n.h5 --resume $o ${EXTRA:-}"; done
  sed -n '/^# Estimated wall time/,/^# the tuned study/p' "$0"
  exit 0
fi
LIST=$(group "$GROUP")
[ -n "$LIST" ] || { echo "remeasure: unknown group or study '$GROUP' (try: list)" >&2; exit 2; }
[ -x "$RTKBENCH" ] || command -v "$RTKBENCH" >/dev/null || { echo "remeasure: no rtkbench at '$RTKBENCH'" >&2; exit 2; }
mkdir -p "$OUTDIR"

# the git-ignored target files, under the path the configurations name
if [ "$TARGETS" != targets ]; then
  mkdir -p targets
  for t in "$TARGETS"/*.h5; do [ -e "$t" ] && ln -sf "$(cd "$(dirname "$t")" && pwd)/$(basename "$t")" "targets/$(basename "$t")"; done
fi

echo "remeasure $GROUP: $(date -u +%FT%TZ), $RANKS ranks ($NCPU cpus: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')), $RTKBENCH, $MPIRUN $MPI_ARGS, deadline ${DEADLINE}s"
status=0
for n in $LIST; do
  line=$(studies | grep "^$n|")
  cfg=$(echo "$line" | cut -d'|' -f2)
  opts="$(echo "$line" | cut -d'|' -f3) ${EXTRA:-}"
  out=$OUTDIR/$n.h5
  if [ ! -e "$out" ] && [ -n "${RESUME_FROM:-}" ]; then
    if [ -e "$RESUME_FROM/$n.h5" ]; then cp "$RESUME_FROM/$n.h5" "$out"
    elif [ -e "$RESUME_FROM/$n.h5.xz" ]; then xz -dc "$RESUME_FROM/$n.h5.xz" > "$out"; fi
  fi
  [ ! -e "$out" ] && [ -e "$out.xz" ] && xz -d "$out.xz"
  case "$n" in
    fashion_mnist*|fmnist*|score_error_fashion) need=targets/fashion_mnist_d64_k100.h5 ;;
    pixels*) need=targets/fashion_mnist_d784_k100.h5 ;;
    *) need= ;;
  esac
  [ "$n" = score_error_fashion ] && need="$need targets/fashion_mnist_d64_k100_mlp.h5"
  miss=
  for t in $need; do [ -e "$t" ] || miss="$miss $t"; done
  if [ -n "$miss" ]; then
    echo "study $n: SKIPPED, missing$miss (make_target.py / train_score.py commands: docs/results.md)"
    echo "$n skipped missing$miss" >> "$OUTDIR/times.txt"
    status=1
    continue
  fi
  left=1000000
  if [ "$DEADLINE" -gt 0 ]; then
    left=$(( DEADLINE - ($(date +%s) - T0) ))
    if [ "$left" -lt 10 ]; then
      echo "study $n: not started (deadline); call this group again"
      status=3
      continue
    fi
  fi
  s=$(date +%s)
  # shellcheck disable=SC2086
  "$MPIRUN" -n "$RANKS" $MPI_ARGS "$RTKBENCH" run "$cfg" -o "$out" --resume $opts > "$OUTDIR/$n.log" 2>&1 &
  pid=$!
  ( sleep "$left"; kill -TERM "$pid" 2>/dev/null ) &
  wd=$!
  wait "$pid"
  rc=$?
  kill "$wd" 2>/dev/null
  wait "$wd" 2>/dev/null
  w=$(( $(date +%s) - s ))
  state=complete
  [ "$rc" -eq 0 ] || { state="stopped (rc $rc; call again to resume)"; status=3; }
  echo "study $n: $w s wall, $state"
  echo "$n $w $rc" >> "$OUTDIR/times.txt"
  [ "$rc" -eq 0 ] || tail -5 "$OUTDIR/$n.log"
done
if [ "$COMPRESS" = 1 ]; then
  for n in $LIST; do [ -e "$OUTDIR/$n.h5" ] && xz -T0 -6 -f "$OUTDIR/$n.h5"; done
fi
echo "remeasure $GROUP: $(( $(date +%s) - T0 )) s in all, status $status"
ls -la "$OUTDIR"
exit $status
