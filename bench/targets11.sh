#!/bin/bash
# Issue 11's targets with repetitions, in one call on the lent machine: the score kernel at (25, 10) and
# K = d = 256, pre-issue build against this one, alternated 4 times; bench/e2e.sh at (64, 128) (ddpm and
# rtk-mala, 1 and 16 ranks), alternated 3 times.  No environment variable set by hand (the pre build runs
# OpenBLAS as shipped).  After `source <bundle>/env.sh` of a bundle made with
#   RTK_BUILD=build RTK_EXTRA_BINS="<pre>/build/rtkbench=rtkbench-pre <pre>/build/rtk_bench_kernel=rtk_bench_kernel-pre" \
#     bash bench/device/pack.sh <bundle>
# run:  bash bench/targets11.sh OUTDIR       (OPTIN=1: see the end)
set -u
out=${1:?usage: bash bench/targets11.sh OUTDIR}
R=${RTK_RT:?source the bundle env.sh first}/bin
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$out"
export MPI_ARGS=${MPI_ARGS:-"--mca plm isolated --mca btl_vader_single_copy_mechanism none --bind-to core"}
export OPENBLAS_NUM_THREADS=1
lscpu | grep -E 'Model name|^CPU\(s\)|Thread|Core|Socket'
for rep in 1 2 3 4; do
  for v in -pre ""; do
    echo "== kernel$v rep $rep"
    "$R/rtk_bench_kernel$v" --shape 25 10 256 --shape 256 256 256 --seconds 0.5 2>&1 | grep -E 'peak|BLAS|^ +(25|256) '
  done
done
for rep in 1 2 3; do
  for v in -pre ""; do
    SHAPES=64x128 RTKBENCH="$R/rtkbench$v" RTK_BENCH_KERNEL="$R/rtk_bench_kernel$v" TAG="x$v$rep" TIMERS=0 \
      bash "$here/e2e.sh" "$out/e2e$v$rep.txt" >/dev/null 2>&1
    grep -vE '^#' "$out/e2e$v$rep.txt"
  done
done
# OPTIN=1: also this build with the opt-in random numbers (run.rng = philox4x32 with Box-Muller and with the
# ziggurat), alternated with the default twice, at (64, 128)
if [ "${OPTIN:-0}" = 1 ]; then
  for rep in 1 2; do
    for cfg in philox4x64:box-muller philox4x32:box-muller philox4x32:ziggurat; do
      g=${cfg%%:*} nm=${cfg##*:}
      SHAPES=64x128 RNG=$g NORMAL=$nm RTKBENCH="$R/rtkbench" RTK_BENCH_KERNEL="$R/rtk_bench_kernel" TAG="o$rep-${g#philox}-${nm%%-*}" \
        TIMERS=0 bash "$here/e2e.sh" "$out/opt-$g-$nm-$rep.txt" >/dev/null 2>&1
      grep -vE '^#' "$out/opt-$g-$nm-$rep.txt"
    done
  done
fi
