#!/bin/bash
# perf profiles of two builds on the lent machine (issue 11, ninth round): rtk-mala at (64, 128), 8192 particles,
# block 256, one rank, each build twice, the top functions by self time.
#   usage (on the device, repository root): bash bench/device/perf_ab.sh BUNDLE [BIN_A] [BIN_B]
# BUNDLE: a bench/device/pack.sh bundle with BIN_A and BIN_B (default rtkbench and rtkbench-new) in it;
# .device/perf: perf and its libraries but the glibc family (cp /usr/bin/perf; the `ldd perf` closure).
source "$1/env.sh" >/dev/null 2>&1; R=$RTK_RT/bin
export OPENBLAS_NUM_THREADS=1 LD_LIBRARY_PATH=$PWD/.device/perf/lib:$LD_LIBRARY_PATH
P=$PWD/.device/perf/perf
printf '[run]\nparticles = 8192\nsamplers = rtk-mala\nnfe = 100\nblock = 256\nprogress = 0\n[target]\nkind = mog-random\nK = 64\ndim = 128\n[metrics]\nboundary_accuracy = false\nfrechet = false\n[output]\nsamples = 0\n' > "$OUT/c.ini"
for rep in 1 2; do for b in "${2:-rtkbench}" "${3:-rtkbench-new}"; do
  echo "== $b rep $rep"
  mpirun --mca plm isolated --mca btl_vader_single_copy_mechanism none --bind-to core -x LD_LIBRARY_PATH -n 1 \
    "$P" record -F 4000 -o "$OUT/p.data" "$R/$b" run "$OUT/c.ini" -o "$OUT/t.h5" --force 2>&1 | grep "^0 "
  "$P" report -i "$OUT/p.data" --no-children --stdio --sort sym 2>/dev/null | grep -E "^ +[0-9]" | head -16
done; done
