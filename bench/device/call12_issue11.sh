#!/bin/bash
# lead, device call 12: main ed00505 ("new": H11p's Philox4x32, H11r2's AVX2 row pass) against 9ca1dd1 ("old", call 11's main)
# bundle: RTK_BUILD=<new build> RTK_EXTRA_BINS="<new>/rtk_bench_rng=rtk_bench_rng <old>/rtkbench=rtkbench-old <old>/rtk_bench_rng=rtk_bench_rng-old <mala_row>=mala_row" bash bench/device/pack.sh .device/l12
source .device/l12/env.sh >/dev/null 2>&1; R=$RTK_RT/bin
export OPENBLAS_NUM_THREADS=1
M="mpirun --mca plm isolated --mca btl_vader_single_copy_mechanism none --bind-to core"
lscpu | grep -E 'Model name|^CPU\(s\)'
for rep in 1 2 3; do for v in -old ""; do
  echo "== rtk_bench_rng$v rep $rep"; $R/rtk_bench_rng$v --seconds 0.1 --dim 10 --dim 128 --dim 1024 2>&1 | grep -v "^#"
done; done
for rep in 1 2 3; do echo "== mala_row rep $rep"; $R/mala_row 2>&1 | tail -12; done
run() { # binary-suffix ranks particles sampler K d rng normal tag
  cat > $OUT/c.ini <<INI
[run]
particles = $3
samplers = $4
nfe = 100
block = 256
progress = 0
rng = $7
normal = $8
[target]
kind = mog-random
K = $5
dim = $6
[metrics]
boundary_accuracy = false
frechet = false
[output]
samples = 0
INI
  $M -n $2 $R/rtkbench$1 run $OUT/c.ini -o $OUT/t.h5 --force > $OUT/log.txt 2>&1 || { echo "FAIL $9"; tail -3 $OUT/log.txt; return; }
  printf "%-14s %2d %-9s %3s %4s %-10s %-10s " "$9" $2 $4 $5 $6 $7 $8; awk '/^0 /{n++; if(n==1) printf "PNFE/s %s  ", $NF; if(n==2) printf "split %s %s %s %s %s %s\n", $3,$4,$5,$6,$7,$8}' $OUT/log.txt
}
for rep in 1 2 3 4; do for v in -old ""; do
  run "$v" 1 4096 rtk-mala 64 128 philox4x64 box-muller "e2e${v:-new}$rep"
  run "$v" 1 4096 rtk-mala 64 128 philox4x32 box-muller "e2e${v:-new}$rep"
done; done
for rep in 1 2; do for v in -old ""; do
  run "$v" 16 65536 rtk-mala 64 128 philox4x64 box-muller "r16${v:-new}$rep"
  run "$v" 16 65536 rtk-mala 64 128 philox4x32 box-muller "r16${v:-new}$rep"
done; done
for rep in 1 2 3; do for nm in box-muller ziggurat; do for s in ddpm rtk-mala; do
  run "" 1 16384 $s 25 10 philox4x64 $nm "d10-$rep"
done; done; done
