#!/bin/bash
# lead, device call 21 (issue 11, tenth round): what is left of the non-kernel share on the lent Intel.
#  1. the normals' division and square root: rtk_bench_rng (N32, U32 at d = 128) of main against builds whose
#     AVX-512F normals multiply instead of dividing ("-div"), skip the square root ("-sqrt") or both ("-both")
#     (wrong numbers, timing only: how much of a normal the divider takes there), 4 alternations;
#  2. rtk-mala's sub-blocks of 64 rows ("rtkbench-sub64", RTK_MALA_SUB 64) against 128 (main), (64, 128), block 256,
#     1 rank (6 alternations) and 16 ranks (2), (256, 1024) on 1 rank (2);
#  3. main at 16384 particles per rank against 4096 (the per-run fixed costs), 3 alternations;
#  4. a perf profile of main (8192 particles, block 256).
# Bundle: cmake -S . -B B -DRTK_CUDA=OFF at main (f8c18c4), and the variants' builds X* of the same tree with the
# one-line changes above, then
#   RTK_BUILD=B RTK_EXTRA_BINS="Xsub64/rtkbench=rtkbench-sub64 B/rtk_bench_rng=rtk_bench_rng \
#     Xdiv/rtk_bench_rng=rtk_bench_rng-div Xsqrt/rtk_bench_rng=rtk_bench_rng-sqrt Xboth/rtk_bench_rng=rtk_bench_rng-both" \
#     bash bench/device/pack.sh .device/c21
# On the device: bash bench/device/call21_issue11.sh (repository root; $OUT as the run tool sets it; carry .device/c21
# and .device/perf)
source .device/c21/env.sh >/dev/null 2>&1
source bench/device/e2e_lib.sh
lscpu | grep -E 'Model name|^CPU\(s\)|MHz'
for rep in 1 2 3 4; do e2e_rng rtk_bench_rng rtk_bench_rng-div rtk_bench_rng-sqrt rtk_bench_rng-both; done
for rep in 1 2 3 4 5 6; do for b in rtkbench rtkbench-sub64; do e2e_run $b 1 256 r$rep; done; done
for rep in 1 2; do for b in rtkbench rtkbench-sub64; do e2e_run $b 1 256 s$rep rtk-mala 256 1024 1024; done; done
for rep in 1 2 3; do
  e2e_run rtkbench 1 256 p4k_$rep rtk-mala 64 128 4096
  e2e_run rtkbench 1 256 p16k_$rep rtk-mala 64 128 16384
done
for rep in 1 2; do for b in rtkbench rtkbench-sub64; do e2e_run $b 16 256 r16_$rep; done; done
e2e_perf rtkbench
