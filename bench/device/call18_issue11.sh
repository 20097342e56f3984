#!/bin/bash
# lead, device call 18 (issue 11, ninth round): main at 0c028bb ("main") against d669db3 plus an intermediate of
# 105a3ae ("new": the rng calls timed in a sample, the accept test's bounds, the sine's and cosine's polynomials
# interleaved (105a3ae interleaves the log's too), an AVX2 clone of the
# proposal loop), rtk_bench_rng of both, then rtk-mala at
# (64, 128), 1 rank (blocks 256 and 128, alternated) and 16 ranks; then a perf profile of each on one rank.
# Bundle: cmake -S . -B M -DRTK_CUDA=OFF at 0c028bb and N at the ninth round, then
#   RTK_BUILD=M RTK_EXTRA_BINS="N/rtkbench=rtkbench-new M/rtk_bench_rng=rtk_bench_rng N/rtk_bench_rng=rtk_bench_rng-new" bash bench/device/pack.sh .device/c18
# and perf with its libraries in .device/perf (perf and `ldd perf` but the glibc family).
# On the device: bash bench/device/call17_issue11.sh (repository root; $OUT as the run tool sets it)
source .device/c18/env.sh >/dev/null 2>&1; R=$RTK_RT/bin
export OPENBLAS_NUM_THREADS=1
M="mpirun --mca plm isolated --mca btl_vader_single_copy_mechanism none --bind-to core"
lscpu | grep -E 'Model name|^CPU\(s\)'
for rep in 1 2 3; do for b in rtk_bench_rng rtk_bench_rng-new; do
  echo "$b $($R/$b --seconds 0.1 --dim 128 2>&1 | tail -1 | awk '{print "N32", $(NF-10), "U32", $(NF-9)}')"
done; done
cfg() { # particles block
  printf '[run]\nparticles = %s\nsamplers = rtk-mala\nnfe = 100\nblock = %s\nprogress = 0\n' "$1" "$2" > "$OUT/c.ini"
  printf '[target]\nkind = mog-random\nK = 64\ndim = 128\n[metrics]\nboundary_accuracy = false\nfrechet = false\n[output]\nsamples = 0\n' >> "$OUT/c.ini"
}
run() { # bin ranks block tag
  cfg $((4096 * $2)) "$3"
  $M -n "$2" --oversubscribe "$R/$1" run "$OUT/c.ini" -o "$OUT/t.h5" --force > "$OUT/log.txt" 2>&1 || { echo "FAIL $4"; tail -3 "$OUT/log.txt"; return; }
  printf "%-6s %-12s %2d %4s " "$4" "$1" "$2" "$3"
  awk '/^0 /{n++; if(n==1) printf "PNFE/s %s  ", $NF; if(n==2) {s=$3+$4+$5+$6+$7+$8; printf "nonkernel %.3f  split %s %s %s %s %s %s\n", 1-$3/s, $3,$4,$5,$6,$7,$8}}' "$OUT/log.txt"
}
for rep in 1 2 3 4 5 6; do for blk in 256 128; do for b in rtkbench rtkbench-new; do run $b 1 $blk r$rep; done; done; done
for rep in 1 2; do for b in rtkbench rtkbench-new; do run $b 16 256 r16_$rep; done; done
if [ -x .device/perf/perf ]; then
  export LD_LIBRARY_PATH=$PWD/.device/perf/lib:$LD_LIBRARY_PATH
  cfg 8192 256
  for b in rtkbench rtkbench-new; do
    echo "== perf $b"
    $M -x LD_LIBRARY_PATH -n 1 .device/perf/perf record -F 4000 -o "$OUT/p.data" "$R/$b" run "$OUT/c.ini" -o "$OUT/t.h5" --force 2>&1 | grep "^0 "
    .device/perf/perf report -i "$OUT/p.data" --no-children --stdio --sort sym 2>/dev/null | grep -E "^ +[0-9]" | head -24
  done
fi
