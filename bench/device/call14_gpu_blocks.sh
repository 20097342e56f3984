#!/bin/bash
# lead, device call 14 (issue 11, eighth round): the GPU tests on main after the eighth round (philox4x32's own
# Box-Muller, rtk-mala's accept shortcut in update.h), and rtk-mala (64, 128) on 1 rank, run.rng = philox4x32,
# at blocks 64 / 128 / 256 (results do not depend on the block), alternated 3 times.
# bundle: RTK_BUILD=build (RTK_CUDA=ON) bash bench/device/pack.sh .device/g14
source .device/g14/env.sh >/dev/null 2>&1; R=$RTK_RT/bin
export OPENBLAS_NUM_THREADS=1
M="mpirun --mca plm isolated --mca btl_vader_single_copy_mechanism none --bind-to core"
nvidia-smi --query-gpu=name --format=csv,noheader; lscpu | grep -E 'Model name'
for mode in ranks cross; do echo "== test_gpu.sh $mode"; bash tests/test_gpu.sh $mode $R/rtkbench > $OUT/gpu_$mode.log 2>&1; echo "rc=$?"; tail -4 $OUT/gpu_$mode.log; done
printf '[run]\nparticles = 4096\nsamplers = rtk-mala\nnfe = 100\nprogress = 0\nrng = philox4x32\n[target]\nkind = mog-random\nK = 64\ndim = 128\n[metrics]\nboundary_accuracy = false\nfrechet = false\n[output]\nsamples = 0\n' > $OUT/c.ini
for rep in 1 2 3; do for b in 64 128 256; do
  $M -n 1 $R/rtkbench run $OUT/c.ini --set run.block=$b -o $OUT/t.h5 --force > $OUT/log.txt 2>&1 || { echo FAIL; tail -3 $OUT/log.txt; continue; }
  printf "rep %s block %3s " $rep $b
  awk '/^0 /{n++; if(n==1) printf "PNFE/s %s  ", $NF; if(n==2) {s=$3+$4+$5+$6+$7+$8; printf "split %s %s %s %s %s score share %.3f\n", $3,$4,$5,$6,$8, $3/s}}' $OUT/log.txt
done; done
