#!/bin/bash
# lead, device call 19 (issue 11, ninth round): main at 0c028bb ("main") against the ninth round at 105a3ae
# ("new": rng calls timed in a sample, the accept test's bounds, the three polynomials of the normals
# interleaved, the AVX2 clone of the proposal), and the block size for a default: new at blocks 256/128/64 on
# (25, 10), (64, 128), (256, 1024), ddpm and rtk-mala, 1 rank, and (64, 128) rtk-mala on 16 ranks.
# Bundle: cmake -S . -B M -DRTK_CUDA=OFF at 0c028bb and N here, then
#   RTK_BUILD=M RTK_EXTRA_BINS="N/rtkbench=rtkbench-new M/rtk_bench_rng=rtk_bench_rng N/rtk_bench_rng=rtk_bench_rng-new"
#     bash bench/device/pack.sh .device/c19
# On the device: bash bench/device/call19_issue11.sh (repository root; $OUT as the run tool sets it)
source .device/c19/env.sh >/dev/null 2>&1
source bench/device/e2e_lib.sh  # (the calls ran with these functions written out in the script)
lscpu | grep -E 'Model name|^CPU\(s\)'
for rep in 1 2 3; do e2e_rng rtk_bench_rng rtk_bench_rng-new; done
for rep in 1 2 3 4 5 6; do for blk in 256 128; do for b in rtkbench rtkbench-new; do e2e_run $b 1 $blk r$rep; done; done; done
for rep in 1 2 3; do for s in ddpm rtk-mala; do for blk in 256 128 64; do
  e2e_run rtkbench-new 1 $blk b$rep $s 25 10 16384
  e2e_run rtkbench-new 1 $blk b$rep $s 256 1024 1024
done; done; done
for rep in 1 2 3; do for blk in 256 128 64; do e2e_run rtkbench-new 16 $blk b16_$rep rtk-mala 64 128 4096; done; done
