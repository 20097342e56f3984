#!/bin/bash
# lead, device call 23 (issue 11, tenth round): main at f8c18c4 ("-main") against afbf5a4 ("new": the dynamic
# schedule's last pieces smaller than a block; the exact score's normalisers kept per time):
#  1. ddpm and rtk-mala at (256, 1024), 1024 particles per rank, 16 ranks (3 alternations);
#  2. rtk-mala (64, 128), block 256, 4096 particles per rank: 16 ranks (3 alternations), 1 rank (4);
#  3. ddpm (256, 1024), 1 rank, 1024 particles, blocks 256 and 64 (2 alternations).
# Bundle: cmake -S . -B M -DRTK_CUDA=OFF at f8c18c4 and N at afbf5a4, then
#   RTK_BUILD=N RTK_EXTRA_BINS="M/rtkbench=rtkbench-main" bash bench/device/pack.sh .device/c23
# On the device: bash bench/device/call23_issue11.sh (repository root; $OUT as the run tool sets it; carry .device/c23)
source .device/c23/env.sh >/dev/null 2>&1
source bench/device/e2e_lib.sh
lscpu | grep -E 'Model name|^CPU\(s\)'
for rep in 1 2 3; do for b in rtkbench-main rtkbench; do
  e2e_run $b 16 256 s16_$rep ddpm 256 1024 1024
  e2e_run $b 16 256 s16_$rep rtk-mala 256 1024 1024
done; done
for rep in 1 2 3; do for b in rtkbench-main rtkbench; do e2e_run $b 16 256 r16_$rep; done; done
for rep in 1 2 3 4; do for b in rtkbench-main rtkbench; do e2e_run $b 1 256 r$rep; done; done
for rep in 1 2; do for b in rtkbench-main rtkbench; do for blk in 256 64; do
  e2e_run $b 1 $blk d1_$rep ddpm 256 1024 1024
done; done; done
