# Functions of the issue-11 device scripts (call17_issue11.sh on), sourced after `source BUNDLE/env.sh`:
#   e2e_cfg PARTICLES BLOCK [SAMPLER K D]      $OUT/c.ini: mog-random K x D (64 x 128), 100 NFE, no Fréchet /
#                                             boundary accuracy, output.samples = 0 (sampler rtk-mala)
#   e2e_run BIN RANKS BLOCK TAG [SAMPLER K D PER_RANK]
#                                             one run of $RTK_RT/bin/BIN (4096 particles per rank): a line with
#                                             PNFE/s, the non-kernel share 1 - score / (sum of time_phases) and the
#                                             split, of the mean over ranks (the share of the ranks' core-seconds, as
#                                             rtkbench's summary and rtk_analyze.py's time_split.png show it since the
#                                             twelfth round); with h5dump in the bundle also "max" = the same of the
#                                             maxima over ranks (the reading of calls 17-28; the phases' maxima come
#                                             from different ranks). A build older than the twelfth round prints the
#                                             maxima in its summary: without h5dump its line is those (PNFE/s alone for
#                                             a build without phase timers)
#   e2e_rng BIN...                             rtk_bench_rng's N32 and U32 (avx512f, d = 128) of each
#   e2e_perf BIN...                            a perf profile of each (8192 particles, block 256, one rank), with
#                                             perf and its libraries in .device/perf (bench/device/README.md)
E2E_MPIRUN="mpirun --mca plm isolated --mca btl_vader_single_copy_mechanism none --bind-to core"
export OPENBLAS_NUM_THREADS=1

e2e_cfg() {
  printf '[run]\nparticles = %s\nsamplers = %s\nnfe = 100\nblock = %s\nprogress = 0\n' "$1" "${3:-rtk-mala}" "$2" > "$OUT/c.ini"
  printf '[target]\nkind = mog-random\nK = %s\ndim = %s\n[metrics]\nboundary_accuracy = false\nfrechet = false\n[output]\nsamples = 0\n' \
    "${4:-64}" "${5:-128}" >> "$OUT/c.ini"
}

e2e_run() {
  local s=${5:-rtk-mala} K=${6:-64} d=${7:-128} per=${8:-4096}
  e2e_cfg $((per * $2)) "$3" "$s" "$K" "$d"
  $E2E_MPIRUN -n "$2" --oversubscribe "$RTK_RT/bin/$1" run "$OUT/c.ini" -o "$OUT/t.h5" --force > "$OUT/log.txt" 2>&1 ||
    { echo "FAIL $4"; tail -3 "$OUT/log.txt"; return; }
  if [ $# -gt 4 ]; then printf "%-6s %-12s %2d %4s %-8s %3s %4s " "$4" "$1" "$2" "$3" "$s" "$K" "$d"
  else printf "%-6s %-12s %2d %4s " "$4" "$1" "$2" "$3"; fi
  if [ -x "$RTK_RT/bin/h5dump" ]; then
    awk '/^0 /{print "PNFE/s", $NF; exit}' "$OUT/log.txt" | tr '\n' ' '
    "$RTK_RT/bin/h5dump" -y -w 400 -d "/runs/0000-$s/metrics/time_phases" "$OUT/t.h5" 2>/dev/null |
      awk '/DATA/{f=1; next} f && NF>=6 {gsub(",", ""); n++; for (i = 1; i <= 6; i++) v[n, i] = $i}
           END {if (n < 2 || v[1, 1] == "nan") {print ""; exit}
                m = v[1,1]+v[1,2]+v[1,3]+v[1,4]+v[1,5]+v[1,6]; a = v[2,1]+v[2,2]+v[2,3]+v[2,4]+v[2,5]+v[2,6]
                printf " nonkernel %.3f (max %.3f)  split %.4g %.4g %.4g %.4g %.4g %.4g\n", 1-v[2,1]/a, 1-v[1,1]/m,
                       v[2,1], v[2,2], v[2,3], v[2,4], v[2,5], v[2,6]}'
  else
    awk '/^0 /{n++; if(n==1) printf "PNFE/s %s  ", $NF; if(n==2) {s=$3+$4+$5+$6+$7+$8; printf "nonkernel %.3f  split %s %s %s %s %s %s\n", 1-$3/s, $3,$4,$5,$6,$7,$8}} END{if(n<2) print ""}' "$OUT/log.txt"
  fi
}

e2e_rng() {
  local b
  for b in "$@"; do
    echo "$b $("$RTK_RT/bin/$b" --seconds 0.1 --dim 128 2>&1 | tail -1 | awk '{print "N32", $(NF-10), "U32", $(NF-9)}')"
  done
}

e2e_perf() {
  [ -x .device/perf/perf ] || { echo "no .device/perf/perf: no profile"; return; }
  local b
  e2e_cfg 8192 256
  for b in "$@"; do
    echo "== perf $b"
    LD_LIBRARY_PATH=$PWD/.device/perf/lib:$LD_LIBRARY_PATH $E2E_MPIRUN -x LD_LIBRARY_PATH -n 1 .device/perf/perf record \
      -F 4000 -o "$OUT/p.data" "$RTK_RT/bin/$b" run "$OUT/c.ini" -o "$OUT/t.h5" --force 2>&1 | grep "^0 "
    LD_LIBRARY_PATH=$PWD/.device/perf/lib:$LD_LIBRARY_PATH .device/perf/perf report -i "$OUT/p.data" --no-children \
      --stdio --sort sym 2>/dev/null | grep -E "^ +[0-9]" | head -24
  done
}
