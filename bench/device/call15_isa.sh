#!/bin/bash
# lead, device call 15 (issue 11, ninth round): which vector versions are fastest on the lent Intel, since every
# version gives the same bits (the normals: vmath.p4x32_isa; the row pass: mala_row_impl.h).  Bundle:
#   cmake -S . -B B -DRTK_CUDA=OFF && cmake --build B -j2
#   gcc -std=c17 -O3 -ffp-contract=off -D_DEFAULT_SOURCE bench/explore/mala_row.c -o /tmp/mala_row -lm
#   gcc ... -DN=16 ... -o /tmp/mala_row16
#   RTK_BUILD=B RTK_EXTRA_BINS="B/rtk_bench_rng=rtk_bench_rng /tmp/mala_row=mala_row /tmp/mala_row16=mala_row16
#     [NEW/rtkbench=rtkbench-new]" bash bench/device/pack.sh .device/c15
# then on the device: bash bench/device/call15_isa.sh (from the repository root; $OUT as the run tool sets it)
source .device/c15/env.sh >/dev/null 2>&1; R=$RTK_RT/bin
export OPENBLAS_NUM_THREADS=1
M="mpirun --mca plm isolated --mca btl_vader_single_copy_mechanism none --bind-to core"
lscpu | grep -E 'Model name|^CPU\(s\)|L2|L1d'
grep -o -w -E 'avx512[a-z_0-9]*|avx2|fma' /proc/cpuinfo | sort -u | tr '\n' ' '; echo
for rep in 1 2 3; do echo "== rtk_bench_rng rep $rep"; $R/rtk_bench_rng --seconds 0.1 --dim 128 2>&1 | grep -v "^#"; done
for rep in 1 2; do for b in mala_row mala_row16; do echo "== $b rep $rep"; $R/$b 2>&1; done; done
run() { # binary ranks block isa tag
  printf '[run]\nparticles = %s\nsamplers = rtk-mala\nnfe = 100\nblock = %s\nprogress = 0\n' $((4096 * $2)) "$3" > "$OUT/c.ini"
  printf '[target]\nkind = mog-random\nK = 64\ndim = 128\n' >> "$OUT/c.ini"
  printf '[metrics]\nboundary_accuracy = false\nfrechet = false\n[output]\nsamples = 0\n' >> "$OUT/c.ini"
  local env=(); [ "$4" != default ] && env=(-x RTK_VMATH_ISA="$4")
  $M -n "$2" "${env[@]}" "$R/$1" run "$OUT/c.ini" -o "$OUT/t.h5" --force > "$OUT/log.txt" 2>&1 || { echo "FAIL $5"; tail -3 "$OUT/log.txt"; return; }
  printf "%-14s %-12s %2d %4s %-8s " "$5" "$1" "$2" "$3" "$4"
  awk '/^0 /{n++; if(n==1) printf "PNFE/s %s  ", $NF; if(n==2) {s=$3+$4+$5+$6+$7+$8; printf "nonkernel %.3f  split %s %s %s %s %s %s\n", 1-$3/s, $3,$4,$5,$6,$7,$8}} END{if(n<2) print ""}' "$OUT/log.txt"
}
bins=(rtkbench); [ -x "$R/rtkbench-new" ] && bins+=(rtkbench-new)
for rep in 1 2 3; do
  for b in "${bins[@]}"; do for isa in default avx; do for blk in 256 64; do
    run "$b" 1 "$blk" "$isa" "e2e$rep"
  done; done; done
done
