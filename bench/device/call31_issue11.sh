#!/bin/bash
# lead, device call 31 (issue 11, twelfth round): the two kernel targets with rtk_bench_kernel's interleaved rounds
# (this round: each round times one trial of the kernel, its DGEMMs, its exp, the simple implementation and the
# 2000^3 peak DGEMM, best of 3 rounds; the peak is the best of all its trials), alternated 4 times with the pre-issue
# build 5701b6b's rtk_bench_kernel ("-pre", OpenBLAS as shipped, its own best-of-3 method).  No environment variable
# set by hand.
# Bundle: cmake -S . -B B -DRTK_CUDA=OFF at this round's code, P the same at 5701b6b, then
#   RTK_BUILD=B RTK_EXTRA_BINS="P/rtk_bench_kernel=rtk_bench_kernel-pre" bash bench/device/pack.sh .device/c31
# On the device: bash bench/device/call31_issue11.sh (repository root; carry .device/c31)
source .device/c31/env.sh >/dev/null 2>&1
export OPENBLAS_NUM_THREADS=1
lscpu | grep -E 'Model name|^CPU\(s\)'
for rep in 1 2 3 4; do
  for v in -pre ""; do
    echo "== kernel$v rep $rep"
    "$RTK_RT/bin/rtk_bench_kernel$v" --shape 25 10 256 --shape 256 256 256 --seconds 0.5 2>&1 | grep -E 'peak|BLAS|^ +(25|256) '
  done
done
