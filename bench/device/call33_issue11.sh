#!/bin/bash
# lead, device call 33 (issue 11, twelfth round): the final code's targets, one call: (1) rtk_bench_kernel at
# (25, 10), (64, 128), K = d = 256 (n = 256, interleaved rounds, trials of 0.3 s) of this round ("", a tile's row maxima
# and sums four rows side by side) against the same bench with c45ff52's kernel ("-old"), and the pre-issue build's
# rtk_bench_kernel at (25, 10) ("-pre", OpenBLAS as shipped), alternated 3 times; (2) rtk-mala at (64, 128) end to end,
# 1 and 16 ranks alternated, 4096 particles per rank (4 times) and 16 384 (2 times): e2e_lib.sh's shares (mean over
# ranks; the maxima in brackets).  No environment variable set by hand.
# Bundle: B = cmake -S . -B B -DRTK_CUDA=OFF at 3d2cd82; P the same at 5701b6b; O = rtk_bench_kernel of 3d2cd82's bench
# with c45ff52's src/core/mixture.c:
#   RTK_BUILD=B RTK_EXTRA_BINS="P/rtk_bench_kernel=rtk_bench_kernel-pre O=rtk_bench_kernel-old /usr/bin/h5dump=h5dump" \
#     bash bench/device/pack.sh .device/c33
# On the device: bash bench/device/call33_issue11.sh (repository root; carry .device/c33)
source .device/c33/env.sh >/dev/null 2>&1
source bench/device/e2e_lib.sh
lscpu | grep -E 'Model name|^CPU\(s\)'
for rep in 1 2 3; do
  for v in -pre -old ""; do
    echo "== kernel$v rep $rep"
    if [ "$v" = -pre ]; then sh="--shape 25 10 256"; else sh="--shape 25 10 256 --shape 64 128 256 --shape 256 256 256"; fi
    "$RTK_RT/bin/rtk_bench_kernel$v" $sh --seconds 0.3 2>&1 | grep -E 'peak|^ +(25|64|256) '
  done
done
echo "== rtk-mala (64, 128) end to end"
for rep in 1 2 3 4; do for R in 1 16; do e2e_run rtkbench $R 256 s$rep rtk-mala 64 128 4096; done; done
for rep in 1 2; do for R in 1 16; do e2e_run rtkbench $R 256 x$rep rtk-mala 64 128 16384; done; done
