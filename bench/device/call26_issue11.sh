#!/bin/bash
# lead, device call 26 (issue 11, eleventh round): rtk-mala's sub-block (RTK_MALA_SUB, rows per score evaluation in
# mala_steps) and the block, at the default 128 ("rtkbench", main 81059bb) against 64 ("rtkbench-s64": the same
# source with RTK_MALA_SUB 64); the bits are the same for every sub-block and block (mpi.reproducibility,
# core.block_invariance), so only time moves.  Each line: PNFE/s, the non-kernel share, the split in seconds
# (score rng sampler diagnostics wait io).
# Bundle: cmake -S . -B B -DRTK_CUDA=OFF at 81059bb; S64 the same with RTK_MALA_SUB 64 in src/samplers/sampler_rtk.c;
#   RTK_BUILD=B RTK_EXTRA_BINS="S64/rtkbench=rtkbench-s64" bash bench/device/pack.sh .device/c26
# On the device: bash bench/device/call26_issue11.sh (repository root; carry .device/c26)
source .device/c26/env.sh >/dev/null 2>&1
source bench/device/e2e_lib.sh
lscpu | grep -E 'Model name|^CPU\(s\)|L2'
echo "== (64, 128) rtk-mala, 1 rank, 4096 particles: sub 128 / 64 x block 256 / 128"
for rep in 1 2 3 4 5; do for b in rtkbench rtkbench-s64; do for B in 256 128; do e2e_run $b 1 $B r$rep; done; done; done
echo "== (64, 128) rtk-mala, 16 ranks, 4096 particles per rank"
for rep in 1 2 3; do for b in rtkbench rtkbench-s64; do for B in 256 128; do e2e_run $b 16 $B q$rep; done; done; done
echo "== (25, 10) rtk-mala, 1 rank, 16384 particles"
for rep in 1 2 3; do for b in rtkbench rtkbench-s64; do for B in 256 128; do e2e_run $b 1 $B s$rep rtk-mala 25 10 16384; done; done; done
echo "== (256, 1024) rtk-mala and ddpm, 1 rank, 1024 particles"
for rep in 1 2; do for b in rtkbench rtkbench-s64; do for B in 256 128; do e2e_run $b 1 $B l$rep rtk-mala 256 1024 1024; done; done; done
for rep in 1 2; do for B in 256 128; do e2e_run rtkbench 1 $B d$rep ddpm 256 1024 1024; done; done
echo "== (64, 128) rtk-mala, 1 rank, 16384 particles"
for rep in 1 2; do for b in rtkbench rtkbench-s64; do e2e_run $b 1 256 x$rep rtk-mala 64 128 16384; e2e_run $b 1 128 x$rep rtk-mala 64 128 16384; done; done
