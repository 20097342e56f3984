#!/bin/bash
# SIGKILL at every write, truncate and sync of the journal unit test's
# rollback scenario (test_journal ops: two commits, then overlapping
# overwrites from rank 0 and the last rank, a strided view, a truncation
# below the committed length, writes past it, an extension), on 1 rank and on
# 2 ranks killing rank 0 or rank 1.  The write-fault shim (wfault.so, kill
# mode) counts the calls that modify or sync the file or its journal; a trace
# run gives their number, then each is the kill point of one run.  The shim
# copies the file at every journal commit (RTK_FAULT_SNAPSHOT); after the
# kill, `test_journal recover` (no MPI) must give that copy byte for byte and
# remove the journal.  Control: the killed file itself (before the recovery)
# must differ from the last commit at some kill points, or the check could
# not fail.
# usage: test_journal_kill.sh TEST_JOURNAL MPIEXEC SHIM WORKDIR
set -u
bin=$1 mpiexec=$2 shim=$3 work=$4
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export RTK_JOURNAL_SYNC=0 # the syncs matter for a node crash only: fewer kill points, the same states
mkdir -p "$work" && cd "$work" || exit 1
work=$(pwd)
cases=0 failn=0 torn=0 restored=0
bad() { echo "FAIL $*"; failn=$((failn + 1)); }
ops() {
  local n=$1 r=$2
  shift 2
  # odls_base_sigkill_timeout 0: the other ranks are SIGKILLed at once (the default waits ~1-2 s per kill)
  timeout -k 5 60 "$mpiexec" -n "$n" --oversubscribe --mca odls_base_sigkill_timeout 0 -x RTK_JOURNAL_SYNC -x LD_PRELOAD="$shim" \
    -x RTK_FAULT_PATH="$work/k.bin" -x RTK_FAULT_RANK="$r" "$@" "$bin" ops "$work/k.bin"
}
for nr in "1 0" "2 0" "2 1"; do
  read -r n r <<<"$nr"
  rm -f k.bin k.bin.journal trace snap snap.tmp
  ops "$n" "$r" -x RTK_FAULT_TRACE="$work/trace" >"trace_n${n}_r$r.log" 2>&1 || {
    bad "n$n r$r: the trace run failed"
    cat "trace_n${n}_r$r.log"
    continue
  }
  total=$(wc -l <trace)
  [ "$total" -gt 0 ] || { bad "n$n r$r: no call traced"; continue; }
  for N in $(seq 1 "$total"); do
    cases=$((cases + 1))
    tag="n${n}_r${r}_k$N"
    rm -f k.bin k.bin.journal snap snap.tmp
    ops "$n" "$r" -x RTK_FAULT_KILL_AT="$N" -x RTK_FAULT_SNAPSHOT="$work/snap" >"$tag.log" 2>&1
    [ $? -ne 0 ] || { bad "$tag: the kill did not happen"; continue; }
    [ -e snap ] || : >snap # killed before the first commit: the empty file it created
    cmp -s k.bin snap || torn=$((torn + 1))
    "$bin" recover "$work/k.bin" "$work/snap" >"$tag.rec" 2>&1 || { bad "$tag: $(grep -v '^restored' "$tag.rec" | head -3)"; continue; }
    grep -q '^restored [1-9]' "$tag.rec" && restored=$((restored + 1))
  done
  echo "  n$n r$r: $total kill points"
done
[ "$torn" -gt 0 ] || bad "control: no kill left the file other than its last commit (the check could not fail)"
echo "journal kill points: $cases cases ($torn left the file changed, $restored rolled back regions), $failn failures"
[ "$failn" -eq 0 ]
