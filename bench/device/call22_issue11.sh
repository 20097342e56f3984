#!/bin/bash
# lead, device call 22 (issue 11, tenth round): main at f8c18c4 ("-main") against the tenth round's working tree
# before afbf5a4 ("new": the dynamic schedule's last pieces smaller than a block, and the Philox rounds' high words
# by a dword swap, P_HI in rng_p4x32_impl.h, _mm512_shuffle_epi32(p, 0xB1), which was reverted after this call):
#  1. rtk_bench_rng N32, U32 at d = 128 (the swap), 4 alternations;
#  2. rtk-mala (64, 128), block 256, 4096 particles per rank: 1 rank (6 alternations), 16 ranks (4);
#  3. ddpm and rtk-mala at (256, 1024), 1024 particles per rank, 16 ranks (2 alternations).
# Bundle: cmake -S . -B M -DRTK_CUDA=OFF at f8c18c4 and N of that tree, then
#   RTK_BUILD=N RTK_EXTRA_BINS="M/rtkbench=rtkbench-main M/rtk_bench_rng=rtk_bench_rng-main N/rtk_bench_rng=rtk_bench_rng" \
#     bash bench/device/pack.sh .device/c22
# On the device: bash bench/device/call22_issue11.sh (repository root; $OUT as the run tool sets it; carry .device/c22)
source .device/c22/env.sh >/dev/null 2>&1
source bench/device/e2e_lib.sh
lscpu | grep -E 'Model name|^CPU\(s\)'
for rep in 1 2 3 4; do e2e_rng rtk_bench_rng-main rtk_bench_rng; done
for rep in 1 2 3 4 5 6; do for b in rtkbench-main rtkbench; do e2e_run $b 1 256 r$rep; done; done
for rep in 1 2 3 4; do for b in rtkbench-main rtkbench; do e2e_run $b 16 256 r16_$rep; done; done
for rep in 1 2; do for b in rtkbench-main rtkbench; do
  e2e_run $b 16 256 s16_$rep ddpm 256 1024 1024
  e2e_run $b 16 256 s16_$rep rtk-mala 256 1024 1024
done; done
