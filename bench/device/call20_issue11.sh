#!/bin/bash
# lead, device call 20 (issue 11, ninth round): main at 0c028bb ("main") against the ninth round with rtk-mala's
# steps in sub-blocks of 128 rows ("new", the commit that adds this script), rtk-mala at the default block 256:
# (64, 128) on 1 rank (6 alternations) and 16 ranks, (25, 10) and (256, 1024) on 1 rank (3 alternations).
# Bundle: cmake -S . -B M -DRTK_CUDA=OFF at 0c028bb and N here, then
#   RTK_BUILD=M RTK_EXTRA_BINS="N/rtkbench=rtkbench-new" bash bench/device/pack.sh .device/c20
# On the device: bash bench/device/call20_issue11.sh (repository root; $OUT as the run tool sets it)
source .device/c20/env.sh >/dev/null 2>&1
source bench/device/e2e_lib.sh
lscpu | grep -E 'Model name|^CPU\(s\)'
for rep in 1 2 3 4 5 6; do for b in rtkbench rtkbench-new; do e2e_run $b 1 256 r$rep; done; done
for rep in 1 2 3; do for b in rtkbench rtkbench-new; do
  e2e_run $b 1 256 s$rep rtk-mala 25 10 16384
  e2e_run $b 1 256 s$rep rtk-mala 256 1024 1024
done; done
for rep in 1 2; do for b in rtkbench rtkbench-new; do e2e_run $b 16 256 r16_$rep; done; done
