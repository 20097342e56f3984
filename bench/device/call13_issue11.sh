#!/bin/bash
# lead, device call 13 (issue 11, eighth round): main after the eighth round ("new") against 7fb0159 ("old",
# the seventh round) and the pre-issue build 5701b6b ("pre"), all -DRTK_CUDA=OFF, one bundle:
#   RTK_BUILD=<new build> RTK_EXTRA_BINS="<new>/rtk_bench_rng=rtk_bench_rng <old>/rtkbench=rtkbench-old
#     <old>/rtk_bench_rng=rtk_bench_rng-old <pre>/rtkbench=rtkbench-pre" bash bench/device/pack.sh .device/l13
# then on the device: bash bench/device/call13_issue11.sh (from the repository root; $OUT as the run tool sets it)
source .device/l13/env.sh >/dev/null 2>&1; R=$RTK_RT/bin
export OPENBLAS_NUM_THREADS=1
M="mpirun --mca plm isolated --mca btl_vader_single_copy_mechanism none --bind-to core"
lscpu | grep -E 'Model name|^CPU\(s\)'
for rep in 1 2; do echo "== mala_row rep $rep"; $R/mala_row 2>&1 | grep -E "row_avx2|rows4_avx2|rows2_avx2|fused "; done
for rep in 1 2; do for v in -old ""; do
  echo "== rtk_bench_rng$v rep $rep"; $R/rtk_bench_rng$v --seconds 0.1 --dim 10 --dim 128 --dim 1024 2>&1 | grep -v "^#"
done; done
run() { # binary-suffix ranks particles sampler K d rng tag   (rng "-" = the binary's default, no key)
  {
    printf '[run]\nparticles = %s\nsamplers = %s\nnfe = 100\nblock = 256\nprogress = 0\n' "$3" "$4"
    [ "$7" != - ] && printf 'rng = %s\n' "$7"
    printf '[target]\nkind = mog-random\nK = %s\ndim = %s\n' "$5" "$6"
    printf '[metrics]\nboundary_accuracy = false\nfrechet = false\n[output]\nsamples = 0\n'
  } > "$OUT/c.ini"
  $M -n "$2" "$R/rtkbench$1" run "$OUT/c.ini" -o "$OUT/t.h5" --force > "$OUT/log.txt" 2>&1 || { echo "FAIL $8"; tail -3 "$OUT/log.txt"; return; }
  printf "%-12s %2d %-9s %3s %4s %-10s " "$8" "$2" "$4" "$5" "$6" "$7"
  awk '/^0 /{n++; if(n==1) printf "PNFE/s %s  ", $NF; if(n==2) printf "split %s %s %s %s %s %s\n", $3,$4,$5,$6,$7,$8} END{if(n<2) print ""}' "$OUT/log.txt"
}
for rep in 1 2 3 4; do
  run -pre 1 4096 rtk-mala 64 128 - "pre$rep"
  for v in -old ""; do
    run "$v" 1 4096 rtk-mala 64 128 philox4x64 "e2e${v:-new}$rep"
    run "$v" 1 4096 rtk-mala 64 128 philox4x32 "e2e${v:-new}$rep"
  done
done
for rep in 1 2; do
  run -pre 16 65536 rtk-mala 64 128 - "r16pre$rep"
  for v in -old ""; do
    run "$v" 16 65536 rtk-mala 64 128 philox4x64 "r16${v:-new}$rep"
    run "$v" 16 65536 rtk-mala 64 128 philox4x32 "r16${v:-new}$rep"
  done
done
for rep in 1 2; do echo "== mala_row rep $rep"; $R/mala_row 2>&1 | grep -E "row_avx2|rows4_avx2|rows2_avx2|fused "; done
for rep in 1 2; do for v in -old ""; do
  run "$v" 1 4096 ddpm 64 128 philox4x32 "ddpm${v:-new}$rep"
done; done
