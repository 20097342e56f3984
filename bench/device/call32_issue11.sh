#!/bin/bash
# lead, device call 32 (issue 11, twelfth round): the mixture kernel with a tile's row maxima and sums four rows
# side by side ("new") against the same code without ("old": main c45ff52's kernel; both rtk_bench_kernel with the
# interleaved rounds), and the pre-issue build 5701b6b's rtk_bench_kernel ("-pre"), alternated 4 times; then rtk-mala
# and ddpm at (64, 128) end to end, old rtkbench against new, 1 and 16 ranks, 3 alternations (e2e_lib.sh: shares of
# the mean over ranks, and of the maxima).
# Bundle: B = cmake -S . -B B -DRTK_CUDA=OFF at 8b81531; P the same at 5701b6b; O and R = rtk_bench_kernel and
# rtkbench of 8b81531 with c45ff52's src/core/mixture.c:
#   RTK_BUILD=B RTK_EXTRA_BINS="P/rtk_bench_kernel=rtk_bench_kernel-pre O=rtk_bench_kernel-old R=rtkbench-old \
#     /usr/bin/h5dump=h5dump" bash bench/device/pack.sh .device/c32
# On the device: bash bench/device/call32_issue11.sh (repository root; carry .device/c32)
source .device/c32/env.sh >/dev/null 2>&1
source bench/device/e2e_lib.sh
lscpu | grep -E 'Model name|^CPU\(s\)'
for rep in 1 2 3 4; do
  for v in -pre -old ""; do
    echo "== kernel$v rep $rep"
    if [ "$v" = -pre ]; then sh="--shape 25 10 256"; else sh="--shape 25 10 256 --shape 64 128 256 --shape 256 256 256"; fi
    "$RTK_RT/bin/rtk_bench_kernel$v" $sh --seconds 0.5 2>&1 | grep -E 'peak|^ +(25|64|256) '
  done
done
echo "== end to end (64, 128), 4096 particles per rank"
for rep in 1 2 3; do
  for R in 1 16; do
    for s in rtk-mala ddpm; do e2e_run rtkbench-old $R 256 o$rep $s; e2e_run rtkbench $R 256 n$rep $s; done
  done
done
