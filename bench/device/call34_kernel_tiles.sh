#!/bin/bash
# lead, device call 34 (issue 11, twelfth round): is a 256-row GEMM tile worth it at large K x d?  rtk_bench_kernel
# (interleaved rounds, trials of 0.3 s) of 3d2cd82 at n = 128 and 256 rows (gemm-4x: the four DGEMMs at that height),
# twice.  Bundle: call 33's (.device/c33).  On the device: bash bench/device/call34_kernel_tiles.sh
source .device/c33/env.sh >/dev/null 2>&1
export OPENBLAS_NUM_THREADS=1
for i in 1 2; do
  "$RTK_RT/bin/rtk_bench_kernel" --shape 256 256 128 --shape 256 256 256 --shape 256 1024 128 --shape 256 1024 256 \
    --shape 256 256 512 --seconds 0.3 2>&1 | grep -E "peak|^ +256"
done
