#!/bin/bash
# lead, device call 30 (issue 11, twelfth round): the four targets at the final code, in one call:
# (1) bench/targets11.sh: the score kernel at (25, 10) and K = d = 256, the pre-issue build 5701b6b ("-pre", OpenBLAS
# as shipped) against this one, alternated 4 times; bench/e2e.sh at (64, 128) (ddpm and rtk-mala, 1 and 16 ranks),
# alternated 3 times; (2) the non-kernel share of rtk-mala at (64, 128), 1 and 16 ranks alternated, 4096 particles per
# rank (4 times) and 16 384 (2 times): each line the share of the mean over ranks (the ranks' core-seconds) and, in
# brackets, the same of the maxima over ranks (e2e_lib.sh).  No environment variable set by hand.
# Bundle: cmake -S . -B B -DRTK_CUDA=OFF at this round's code, P the same at 5701b6b, then
#   RTK_BUILD=B RTK_EXTRA_BINS="/usr/bin/h5dump=h5dump P/rtkbench=rtkbench-pre P/rtk_bench_kernel=rtk_bench_kernel-pre" \
#     bash bench/device/pack.sh .device/c30
# On the device: bash bench/device/call30_issue11.sh (repository root; carry .device/c30)
source .device/c30/env.sh >/dev/null 2>&1
source bench/device/e2e_lib.sh
echo "== bench/targets11.sh"
bash bench/targets11.sh "$OUT/t11"
echo "== the non-kernel share, rtk-mala (64, 128)"
for rep in 1 2 3 4; do for R in 1 16; do e2e_run rtkbench $R 256 s$rep rtk-mala 64 128 4096; done; done
for rep in 1 2; do for R in 1 16; do e2e_run rtkbench $R 256 x$rep rtk-mala 64 128 16384; done; done
