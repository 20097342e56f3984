#!/bin/bash
# lead, device call 16 (issue 11, ninth round): main at 0c028bb ("main") against 69a1211 (branch issue-11-fmadiv, "new": sampled rng
# timers, the accept test's bounds, the FMA division in the row pass), 1 and 16 ranks, blocks 256/128/64, and the
# row pass alone (bench/explore/mala_row.c before and after: mala_row*, mala_row*_fma).  Bundle:
#   cmake -S . -B M -DRTK_CUDA=OFF (main) and N (this branch); gcc -std=c17 -O3 -ffp-contract=off -D_DEFAULT_SOURCE
#   [-DN=16] bench/explore/mala_row.c -o ... from each tree
#   RTK_BUILD=M RTK_EXTRA_BINS="N/rtkbench=rtkbench-new mala_row... " bash bench/device/pack.sh .device/c16
# then on the device: bash bench/device/call16_issue11.sh (repository root; $OUT as the run tool sets it)
source .device/c16/env.sh >/dev/null 2>&1; R=$RTK_RT/bin
export OPENBLAS_NUM_THREADS=1
M="mpirun --mca plm isolated --mca btl_vader_single_copy_mechanism none --bind-to core"
lscpu | grep -E 'Model name|^CPU\(s\)'
for rep in 1 2; do for b in mala_row mala_row_fma mala_row16 mala_row16_fma; do
  echo "== $b rep $rep"; $R/$b 2>&1 | grep -E "^(row_avx2|rows4_avx2|fused) "
done; done
run() { # bin ranks block tag
  printf '[run]\nparticles = %s\nsamplers = rtk-mala\nnfe = 100\nblock = %s\nprogress = 0\n' $((4096 * $2)) "$3" > "$OUT/c.ini"
  printf '[target]\nkind = mog-random\nK = 64\ndim = 128\n[metrics]\nboundary_accuracy = false\nfrechet = false\n[output]\nsamples = 0\n' >> "$OUT/c.ini"
  $M -n "$2" --oversubscribe "$R/$1" run "$OUT/c.ini" -o "$OUT/t.h5" --force > "$OUT/log.txt" 2>&1 || { echo "FAIL $4"; tail -3 "$OUT/log.txt"; return; }
  printf "%-6s %-12s %2d %4s " "$4" "$1" "$2" "$3"
  awk '/^0 /{n++; if(n==1) printf "PNFE/s %s  ", $NF; if(n==2) {s=$3+$4+$5+$6+$7+$8; printf "nonkernel %.3f  split %s %s %s %s %s %s\n", 1-$3/s, $3,$4,$5,$6,$7,$8}}' "$OUT/log.txt"
}
for rep in 1 2 3 4; do for blk in 256 128 64; do for b in rtkbench rtkbench-new; do run $b 1 $blk r$rep; done; done; done
for rep in 1 2; do for blk in 256 128; do for b in rtkbench rtkbench-new; do run $b 16 $blk r16_$rep; done; done; done
