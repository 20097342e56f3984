#!/bin/bash
# lead, device call 19 (issue 11, ninth round): main at 0c028bb ("main") against the ninth round at 105a3ae
# ("new": rng calls timed in a sample, the accept test's bounds, the three polynomials of the normals
# interleaved, the AVX2 clone of the proposal), and the block size for a default: new at blocks 256/128/64 on
# (25, 10), (64, 128), (256, 1024), ddpm and rtk-mala, 1 rank, and (64, 128) rtk-mala on 16 ranks.
# Bundle: cmake -S . -B M -DRTK_CUDA=OFF at 0c028bb and N here, then
#   RTK_BUILD=M RTK_EXTRA_BINS="N/rtkbench=rtkbench-new M/rtk_bench_rng=rtk_bench_rng N/rtk_bench_rng=rtk_bench_rng-new"
#     bash bench/device/pack.sh .device/c19
# On the device: bash bench/device/call19_issue11.sh (repository root; $OUT as the run tool sets it)
source .device/c19/env.sh >/dev/null 2>&1; R=$RTK_RT/bin
export OPENBLAS_NUM_THREADS=1
M="mpirun --mca plm isolated --mca btl_vader_single_copy_mechanism none --bind-to core"
lscpu | grep -E 'Model name|^CPU\(s\)'
for rep in 1 2 3; do for b in rtk_bench_rng rtk_bench_rng-new; do
  echo "$b $($R/$b --seconds 0.1 --dim 128 2>&1 | tail -1 | awk '{print "N32", $(NF-10), "U32", $(NF-9)}')"
done; done
run() { # bin ranks block sampler K d particles-per-rank tag
  printf '[run]\nparticles = %s\nsamplers = %s\nnfe = 100\nblock = %s\nprogress = 0\n' $(($7 * $2)) "$4" "$3" > "$OUT/c.ini"
  printf '[target]\nkind = mog-random\nK = %s\ndim = %s\n[metrics]\nboundary_accuracy = false\nfrechet = false\n[output]\nsamples = 0\n' "$5" "$6" >> "$OUT/c.ini"
  $M -n "$2" --oversubscribe "$R/$1" run "$OUT/c.ini" -o "$OUT/t.h5" --force > "$OUT/log.txt" 2>&1 || { echo "FAIL $8"; tail -3 "$OUT/log.txt"; return; }
  printf "%-6s %-12s %2d %4s %-8s %3s %4s " "$8" "$1" "$2" "$3" "$4" "$5" "$6"
  awk '/^0 /{n++; if(n==1) printf "PNFE/s %s  ", $NF; if(n==2) {s=$3+$4+$5+$6+$7+$8; printf "nonkernel %.3f  split %s %s %s %s %s %s\n", 1-$3/s, $3,$4,$5,$6,$7,$8}}' "$OUT/log.txt"
}
for rep in 1 2 3 4 5 6; do for blk in 256 128; do for b in rtkbench rtkbench-new; do run $b 1 $blk rtk-mala 64 128 4096 r$rep; done; done; done
for rep in 1 2 3; do for s in ddpm rtk-mala; do for blk in 256 128 64; do
  run rtkbench-new 1 $blk $s 25 10 16384 b$rep
  run rtkbench-new 1 $blk $s 256 1024 1024 b$rep
done; done; done
for rep in 1 2 3; do for blk in 256 128 64; do run rtkbench-new 16 $blk rtk-mala 64 128 4096 b16_$rep; done; done
