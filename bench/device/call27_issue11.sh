#!/bin/bash
# lead, device call 27 (issue 11, eleventh round): the ≥ 3× and ≤ 30 % targets of rtk-mala at (64, 128), 100 NFE,
# block 256, the defaults otherwise, at two run lengths: 4096 particles per rank (the benchmark's 1-second runs) and
# 16 384 (4-second runs), on 1 and 16 ranks.  The pre-issue build 5701b6b ("rtkbench-pre", OpenBLAS as shipped, no
# environment variable set by hand) alternated with main 81059bb ("rtkbench") 3 times, then main alone 3 more times.
# Each line: PNFE/s, the non-kernel share 1 - score / (sum of time_phases) and the split in seconds (score rng
# sampler diagnostics wait io); the pre build has no phase timers (its share is blank).
# Bundle: cmake -S . -B B -DRTK_CUDA=OFF at 81059bb, P the same at 5701b6b, then
#   RTK_BUILD=B RTK_EXTRA_BINS="P/rtkbench=rtkbench-pre" bash bench/device/pack.sh .device/c27
# On the device: bash bench/device/call27_issue11.sh (repository root; carry .device/c27)
source .device/c27/env.sh >/dev/null 2>&1
source bench/device/e2e_lib.sh
lscpu | grep -E 'Model name|^CPU\(s\)'
for rep in 1 2 3; do
  for per in 4096 16384; do for R in 1 16; do for b in rtkbench-pre rtkbench; do
    e2e_run $b $R 256 p$rep rtk-mala 64 128 $per
  done; done; done
done
for rep in 4 5 6; do
  for per in 4096 16384; do for R in 1 16; do e2e_run rtkbench $R 256 m$rep rtk-mala 64 128 $per; done; done
done
