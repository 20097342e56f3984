source .device/c15/env.sh >/dev/null 2>&1; R=$RTK_RT/bin
export OPENBLAS_NUM_THREADS=1
M="mpirun --mca plm isolated --mca btl_vader_single_copy_mechanism none --bind-to core"
run() { # bin ranks block tag
  printf '[run]\nparticles = %s\nsamplers = rtk-mala\nnfe = 100\nblock = %s\nprogress = 0\n' $((4096 * $2)) "$3" > "$OUT/c.ini"
  printf '[target]\nkind = mog-random\nK = 64\ndim = 128\n[metrics]\nboundary_accuracy = false\nfrechet = false\n[output]\nsamples = 0\n' >> "$OUT/c.ini"
  $M -n "$2" "$R/$1" run "$OUT/c.ini" -o "$OUT/t.h5" --force > "$OUT/log.txt" 2>&1 || { echo "FAIL $4"; tail -3 "$OUT/log.txt"; return; }
  printf "%-6s %-12s %2d %4s " "$4" "$1" "$2" "$3"
  awk '/^0 /{n++; if(n==1) printf "PNFE/s %s  ", $NF; if(n==2) {s=$3+$4+$5+$6+$7+$8; printf "nonkernel %.3f  split %s %s %s %s %s %s\n", 1-$3/s, $3,$4,$5,$6,$7,$8}}' "$OUT/log.txt"
}
for rep in 1 2 3; do for blk in ${BLOCKS:-16 32 64 128 256}; do for b in ${BINS:-rtkbench}; do run $b ${RANKS:-1} $blk r$rep; done; done; done
