#!/bin/bash
# kill -9 at seeded random moments (including during the first run and its
# header), then `--resume`: every run that was complete before the kill is
# kept (the resume skips at least as many), no run marked complete fails
# verification, and the resumed file equals an uninterrupted run bitwise.
# usage: test_kill.sh RTKBENCH MPIEXEC WORKDIR SRCDIR
set -u
bin=$1 mpiexec=$2 work=$3 src=$4
py=/usr/bin/python3
cfg="$src/tests/fault/fault.ini"
sets=(--set run.particles=4000)
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
mkdir -p "$work" && cd "$work" || exit 1
rm -f ./*.h5* ./*.log
failn=0 cases=0
bad() { echo "FAIL $*"; failn=$((failn + 1)); }

t0=$(date +%s.%N)
timeout 120 "$mpiexec" -n 2 --oversubscribe "$bin" run "$cfg" -o ref.h5 "${sets[@]}" >ref.log 2>&1 || { echo "reference run failed"; cat ref.log; exit 1; }
total=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { print b - a }')
RANDOM=10   # fixed seed: the same kill moments every time
for i in 1 2 3 4 5 6; do
  for n in 1 2; do
    cases=$((cases + 1))
    # the first two kills fall into start-up / the first run, the rest anywhere
    if [ $i -le 2 ]; then frac=$((RANDOM % 15 + 1)); else frac=$((RANDOM % 90 + 5)); fi
    delay=$(awk -v t="$total" -v f="$frac" 'BEGIN { printf "%.3f", t * f / 100 }')
    rm -f k.h5 k.h5.tmp k.h5.lock
    setsid "$mpiexec" -n $n --oversubscribe "$bin" run "$cfg" -o k.h5 "${sets[@]}" >k.log 2>&1 &
    pid=$!
    sleep "$delay"
    # SIGKILL the ranks (as a node failure would), then the launcher
    pkill -9 -P $pid 2>/dev/null; kill -9 $pid 2>/dev/null
    wait $pid 2>/dev/null
    before=0
    if [ -e k.h5 ]; then
      timeout 60 "$bin" info k.h5 --verify >kv.log 2>&1 || bad "kill $i ($n ranks, ${delay}s): a complete run fails verification"
      before=$(grep -c '  ok$' kv.log)
    fi
    timeout 120 "$mpiexec" -n $n --oversubscribe "$bin" run "$cfg" -o k.h5 "${sets[@]}" --resume >kr.log 2>&1 \
      || { bad "kill $i ($n ranks, ${delay}s): resume failed"; tail -3 kr.log; continue; }
    kept=$(sed -n 's/^resumed: \([0-9]*\) of.*/\1/p' kr.log); kept=${kept:-0}
    [ "$kept" -ge "$before" ] || bad "kill $i: $before runs were complete before the kill, the resume kept $kept"
    $py "$src/tests/h5check.py" same ref.h5 k.h5 >/dev/null 2>&1 || bad "kill $i ($n ranks): resumed file differs"
    echo "kill $i: $n rank(s) after ${delay}s: $before complete before, $kept kept"
  done
done
echo "kill -9: $cases cases, $failn failures"
[ $failn -eq 0 ] && echo "1 passed, 0 failed" || echo "0 passed, 1 failed"
exit $((failn > 0))
