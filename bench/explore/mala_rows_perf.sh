#!/bin/bash
# perf shares of rtk-mala's per-particle work (HROW, issue 11 eighth round), two builds alternated: per run the
# samples of the row pass, the rest of the step (step_row/propose_row/run_mala, the copies), the accept test's
# uniform and log, each over the score kernel's dgemm_kernel samples (a ratio within one process, so the other
# jobs of a shared machine move it less than they move wall times).
# usage: bench/explore/mala_rows_perf.sh OLD_RTKBENCH NEW_RTKBENCH [REPS] [PARTICLES] [EXTRA --set ...]
set -eu
old=$1 new=$2 reps=${3:-3} np=${4:-16384}
shift $(($# < 4 ? $# : 4))
src=$(cd "$(dirname "$0")/../.." && pwd)
tmp=$(mktemp -d)
printf "%-4s %-4s %7s %7s %7s %7s %7s   (ratios to dgemm_kernel samples) %s\n" rep bin row step accept sum dgemm "$*"
for rep in $(seq 1 "$reps"); do
  for b in old new; do
    bin=$old; [ $b = new ] && bin=$new
    perf record -q -e cpu-clock -F 4000 -o "$tmp/p.data" "$bin" run "$src/bench/scaling/heavy.ini" \
      --set run.particles="$np" --set output.samples=0 "$@" -o "$tmp/x.h5" --force >/dev/null 2>&1
    perf report -i "$tmp/p.data" --stdio -F overhead,sym 2>/dev/null | /usr/bin/python3 -c '
import re, sys
rep, b = sys.argv[1:3]
share = {}
for line in sys.stdin:
    m = re.match(r"\s*([0-9.]+)%\s+\[\.\]\s+(\S+)", line)
    if m: share[m.group(2)] = share.get(m.group(2), 0) + float(m.group(1))
g = lambda pred: sum(v for k, v in share.items() if pred(k))
dg = g(lambda k: k.startswith("dgemm_kernel"))
row = g(lambda k: k.startswith("rtk_mala_row") or k == "assemble_rows")
step = g(lambda k: k in ("step_row", "propose_row", "run_mala", "mala_steps") or k.startswith("__memmove") or k.startswith("__memcpy"))
acc = g(lambda k: k in ("__ieee754_log_fma", "log@@GLIBC_2.29", "rtk_p4x32_i_scalar", "__wrap_rtk_rng_uniform", "rtk_rng_uniform", "draw"))
print(f"{rep:<4} {b:<4} {row/dg:7.4f} {step/dg:7.4f} {acc/dg:7.4f} {(row+step+acc)/dg:7.4f} {dg:6.2f}%")
' "$rep" "$b"
  done
done
rm -rf "$tmp"
