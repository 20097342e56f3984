#!/bin/bash
# lead, device call 28 (issue 11, eleventh round): (1) the GEMM tiles' bits on this machine's OpenBLAS kernels:
# core.gemm_tiles and core.block_invariance with the kernels OpenBLAS picks itself and with SkylakeX forced (what
# rtkbench's autofix picks here); (2) the tiles' and the chunks' time: main 81059bb ("rtkbench-old") against this
# round ("rtkbench": every BLAS call on 128-row tiles, rtk samplers in L2-sized chunks) and this round with the
# chunks off (RTK_TEST_CHUNK = a huge row count: whole blocks), alternated; (3) the non-kernel share at 4096 and
# 16 384 particles per rank.  Each line: PNFE/s, the non-kernel share, the split (score rng sampler diag wait io).
# Bundle: cmake -S . -B N -DRTK_CUDA=OFF at 92dbbd7, O the same at 81059bb, then
#   RTK_BUILD=N RTK_EXTRA_BINS="O/rtkbench=rtkbench-old N/tests/test_core=test_core" bash bench/device/pack.sh .device/c28
# On the device: bash bench/device/call28_issue11.sh (repository root; carry .device/c28)
source .device/c28/env.sh >/dev/null 2>&1
source bench/device/e2e_lib.sh
lscpu | grep -E 'Model name|^CPU\(s\)'
echo "== bits"
for ct in "" SkylakeX; do
  for t in gemm_tiles block_invariance; do
    OPENBLAS_CORETYPE=$ct OPENBLAS_NUM_THREADS=1 "$RTK_RT/bin/test_core" $t 2>&1 | tail -1 | sed "s/^/core.$t coretype=${ct:-auto}: /"
  done
done
E2E_MPIRUN="$E2E_MPIRUN -x RTK_TEST_CHUNK"
nochunk() { RTK_TEST_CHUNK=1000000000 e2e_run "$@"; }
echo "== (64, 128), 4096 particles per rank: old, new, new without chunks"
for rep in 1 2 3 4; do
  for R in 1 16; do e2e_run rtkbench-old $R 256 o$rep; e2e_run rtkbench $R 256 n$rep; nochunk rtkbench $R 256 c$rep; done
  e2e_run rtkbench-old 1 256 o$rep ddpm; e2e_run rtkbench 1 256 n$rep ddpm
done
echo "== (25, 10) 16384 and (256, 1024) 1024 particles, 1 rank: old, new"
for rep in 1 2; do
  for s in rtk-mala ddpm; do
    e2e_run rtkbench-old 1 256 o$rep $s 25 10 16384; e2e_run rtkbench 1 256 n$rep $s 25 10 16384
    e2e_run rtkbench-old 1 256 o$rep $s 256 1024 1024; e2e_run rtkbench 1 256 n$rep $s 256 1024 1024
  done
done
echo "== (64, 128), 16384 particles per rank, new"
for rep in 1 2; do for R in 1 16; do e2e_run rtkbench $R 256 x$rep rtk-mala 64 128 16384; done; done
