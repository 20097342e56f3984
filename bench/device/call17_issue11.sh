#!/bin/bash
# lead, device call 17 (issue 11, ninth round): main at 0c028bb ("main") against the ninth round ("new": the rng
# calls timed in a sample, the accept test's bounds, the accepted move fused into the next proposal), rtk-mala at
# (64, 128), 1 rank (blocks 256 and 128, alternated) and 16 ranks; then a perf profile of each on one rank.
# Bundle: cmake -S . -B M -DRTK_CUDA=OFF at 0c028bb and N at the ninth round, then
#   RTK_BUILD=M RTK_EXTRA_BINS="N/rtkbench=rtkbench-new" bash bench/device/pack.sh .device/c17
# and perf with its libraries in .device/perf (perf and `ldd perf` but the glibc family).
# On the device: bash bench/device/call17_issue11.sh (repository root; $OUT as the run tool sets it)
source .device/c17/env.sh >/dev/null 2>&1
source bench/device/e2e_lib.sh  # (the calls ran with these functions written out in the script)
lscpu | grep -E 'Model name|^CPU\(s\)'
for rep in 1 2 3 4 5 6; do for blk in 256 128; do for b in rtkbench rtkbench-new; do e2e_run $b 1 $blk r$rep; done; done; done
for rep in 1 2; do for b in rtkbench rtkbench-new; do e2e_run $b 16 256 r16_$rep; done; done
e2e_perf rtkbench rtkbench-new
