#!/bin/bash
# lead, device call 24 (issue 11, tenth round): main at f8c18c4 ("-main") against 55559c3 ("new": also a group's
# accept uniforms in the lanes of one Philox4x32 pass), one rank: rtk-mala (64, 128), block 256, 4096 particles
# (8 alternations); (25, 10), 16384 particles (3 alternations); then a perf profile of new (8192 particles).
# Bundle: cmake -S . -B M -DRTK_CUDA=OFF at f8c18c4 and N at 55559c3, then
#   RTK_BUILD=N RTK_EXTRA_BINS="M/rtkbench=rtkbench-main" bash bench/device/pack.sh .device/c24
# On the device: bash bench/device/call24_issue11.sh (repository root; $OUT as the run tool sets it; carry .device/c24
# and .device/perf)
source .device/c24/env.sh >/dev/null 2>&1
source bench/device/e2e_lib.sh
lscpu | grep -E 'Model name|^CPU\(s\)'
for rep in 1 2 3 4 5 6 7 8; do for b in rtkbench-main rtkbench; do e2e_run $b 1 256 r$rep; done; done
for rep in 1 2 3; do for b in rtkbench-main rtkbench; do e2e_run $b 1 256 s$rep rtk-mala 25 10 16384; done; done
e2e_perf rtkbench
