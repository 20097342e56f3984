#!/bin/bash
# lead, device call 29 (issue 11, twelfth round): where the 16-rank run's non-kernel time goes, against one rank,
# with one build (main c45ff52): (1) rtk-mala at (64, 128), 4096 particles per rank, 1 and 16 ranks alternated, each
# line with the share from the printed split (the maximum over ranks of each phase) and from the file's mean over
# ranks (metrics/time_phases row 1); (2) perf stat (task-clock, cycles, instructions) of rank 0 and rank 9 of a
# 16-rank run against a 1-rank run: clock and instructions per cycle; (3) perf record of rank 0 of a 16-rank run and
# of a 1-rank run (8192 particles per rank): self time by symbol.
# Bundle: cmake -S . -B B -DRTK_CUDA=OFF at c45ff52, then
#   RTK_BUILD=B RTK_EXTRA_BINS="/usr/bin/h5dump=h5dump B/rtk_bench_rng=rtk_bench_rng" bash bench/device/pack.sh .device/c29
# and perf in .device/perf (bench/device/README.md).  On the device: bash bench/device/call29_issue11.sh (carry
# .device/c29 and .device/perf)
source .device/c29/env.sh >/dev/null 2>&1
source bench/device/e2e_lib.sh
lscpu | grep -E 'Model name|^CPU\(s\)|MHz|L2|L3'
# the mean-over-ranks share of the last e2e_run's file
mean_share() {
  "$RTK_RT/bin/h5dump" -y -w 400 -d /runs/0000-rtk-mala/metrics/time_phases "$OUT/t.h5" 2>/dev/null |
    awk '/DATA/{f=1; next} f&&NF>=6{n++; if(n==2){gsub(",",""); s=$1+$2+$3+$4+$5+$6; printf "   mean-over-ranks share %.3f  split %s %s %s %s %s %s\n", 1-$1/s, $1,$2,$3,$4,$5,$6}}'
}
echo "== (64, 128), 4096 particles per rank"
for rep in 1 2 3; do
  for R in 1 16; do e2e_run rtkbench $R 256 m$rep; mean_share; done
done
echo "== 16384 particles per rank"
for R in 1 16; do e2e_run rtkbench $R 256 x1 rtk-mala 64 128 16384; mean_share; done
PERF=$PWD/.device/perf/perf
PL=$PWD/.device/perf/lib:$LD_LIBRARY_PATH
wrap() { # rank-selective perf: wrap MODE RANKS... -- rtkbench args
  cat > "$OUT/w.sh" <<EOF
#!/bin/bash
r=\$OMPI_COMM_WORLD_RANK
case " $2 " in *" \$r "*)
  if [ $1 = stat ]; then LD_LIBRARY_PATH=$PL exec $PERF stat -x, -e task-clock,cycles,instructions -o $OUT/stat.\$r "\$@"
  else LD_LIBRARY_PATH=$PL exec $PERF record -F 4000 -o $OUT/p.\$r "\$@"; fi ;;
esac
exec "\$@"
EOF
  chmod +x "$OUT/w.sh"
}
echo "== perf stat"
e2e_cfg 4096 256
wrap stat "0"
$E2E_MPIRUN -n 1 "$OUT/w.sh" "$RTK_RT/bin/rtkbench" run "$OUT/c.ini" -o "$OUT/t.h5" --force 2>&1 | grep "^0 " | tail -1
echo "-- 1 rank, rank 0"; grep -v "^#" "$OUT/stat.0"; rm -f "$OUT"/stat.*
e2e_cfg 65536 256
wrap stat "0 9"
$E2E_MPIRUN -n 16 "$OUT/w.sh" "$RTK_RT/bin/rtkbench" run "$OUT/c.ini" -o "$OUT/t.h5" --force 2>&1 | grep "^0 " | tail -1
for r in 0 9; do echo "-- 16 ranks, rank $r"; grep -v "^#" "$OUT/stat.$r"; done
echo "== perf record"
for R in 1 16; do
  e2e_cfg $((8192 * R)) 256
  wrap record "0"
  $E2E_MPIRUN -n $R "$OUT/w.sh" "$RTK_RT/bin/rtkbench" run "$OUT/c.ini" -o "$OUT/t.h5" --force 2>&1 | grep "^0 " | tail -1
  echo "-- $R ranks, rank 0"
  LD_LIBRARY_PATH=$PL $PERF report -i "$OUT/p.0" --no-children --stdio --sort sym 2>/dev/null | grep -E "^ +[0-9]" | head -32
  rm -f "$OUT"/p.*
done
