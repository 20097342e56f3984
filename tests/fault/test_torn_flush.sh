#!/bin/bash
# SIGKILL inside a flush (crash consistency at every moment, docs/format.md).
# The shim (wfault.so, kill mode) raises SIGKILL on one rank at its N-th
# call that writes, truncates or syncs the results file or its journal.  A
# trace run lists those calls; N is chosen from it: every call of one run's
# final (link) flush, points in another run's data flush, in the commit
# sequence (file sync, journal emptied, new journal header) and in the final
# close, on 1 and 2 ranks (rank 0, which writes the metadata, and rank 1).
# After each kill, `--resume` (without the shim) must exit 0, keep at least
# every run whose completion was printed before the kill, and give a file
# bitwise equal to an uninterrupted run (tests/h5check.py same).  Twice the
# resume itself is killed while it restores the file from the journal, and
# resumed again; once `rtkbench info --verify` restores it first.  Control: with the journal switched off (test hook
# RTK_TEST_FAIL=journal) the same kills inside a final flush must break at
# least one resume, so the test can fail.
# usage: test_torn_flush.sh RTKBENCH MPIEXEC SHIM WORKDIR SRCDIR
set -u
bin=$1 mpiexec=$2 shim=$3 work=$4 src=$5
py=/usr/bin/python3
cfg="$src/tests/fault/fault.ini"
sets=(--set sweep.seed=1)     # 3 runs: exact, ddpm, rtk-mala
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
# the journal's fdatasyncs only matter for a node crash, not for a killed
# process (the kernel keeps what was written): off here, for speed
export RTK_JOURNAL_SYNC=0
mkdir -p "$work" && cd "$work" || exit 1
work=$(pwd)
rm -f ./*.h5* ./*.log ./*.txt ./*.resume ./*.r0
cases=0 failn=0 exact=0
bad() { echo "FAIL $*"; failn=$((failn + 1)); }
mpirun() { local n=$1; shift; timeout -k 5 90 "$mpiexec" -n "$n" --oversubscribe -x RTK_JOURNAL_SYNC "$@"; }
shimenv() { echo -x LD_PRELOAD="$shim" -x RTK_FAULT_PATH="$work/k.h5" -x RTK_FAULT_RANK="$1"; }

mpirun 1 "$bin" run "$cfg" -o ref.h5 "${sets[@]}" >ref.log 2>&1 || { echo "reference run failed"; cat ref.log; exit 1; }

# kill_case RANKS RANK N [EXTRA_MPIRUN_ARGS...]: kill, resume; the resumed
# file is kept as res_TAG.h5 and compared with ref.h5 at the end.
# Returns 1 when the resume fails or loses a run that was done.
kill_case() {
  local n=$1 r=$2 N=$3 tag="n$1_r$2_k$3${CTL:-}${KILL_RESUME:+_kr$KILL_RESUME}${INFO_FIRST:+_info}"
  shift 3
  cases=$((cases + 1))
  rm -f k.h5 k.h5.tmp k.h5.lock k.h5.journal snap.h5
  mpirun "$n" $(shimenv "$r") -x RTK_FAULT_KILL_AT="$N" -x RTK_FAULT_SNAPSHOT="$work/snap.h5" "$@" \
    "$bin" run "$cfg" -o k.h5 "${sets[@]}" >"$tag.log" 2>&1
  local rc=$?
  [ $rc -ne 0 ] || { bad "$tag: the kill did not happen (exit 0)"; return 0; }
  local before
  before=$(grep -c ' done: ' "$tag.log")
  # the rollback alone (`info` restores a hot journal) must give the last committed file byte for byte
  # (the shim copied it at that commit); not for the control without a journal, and not where the
  # recovery itself is killed or `info --verify` is the case below
  if [ -z "${CTL:-}${KILL_RESUME:-}${INFO_FIRST:-}" ] && [ -e snap.h5 ] && [ -e k.h5 ]; then
    timeout 60 "$bin" info k.h5 >"$tag.rb" 2>&1 || bad "$tag: info after the kill failed ($(tail -1 "$tag.rb"))"
    if cmp -s k.h5 snap.h5; then exact=$((exact + 1)); else
      bad "$tag: the rolled-back file is not the last committed one byte for byte ($(cmp k.h5 snap.h5 2>&1 | head -1))"
    fi
  fi
  if [ -n "${INFO_FIRST:-}" ]; then  # info restores the last commit itself (a hot journal)
    [ -s k.h5.journal ] || bad "$tag: no journal for info to recover from"
    timeout 60 "$bin" info k.h5 --verify >"$tag.info" 2>&1 && grep -q "was restored" "$tag.info" \
      || bad "$tag: info did not restore the file ($(tail -1 "$tag.info"))"
    [ "$(grep -c '  ok$' "$tag.info")" -ge "$before" ] || bad "$tag: info shows fewer complete runs than were done"
    [ -e k.h5.journal ] && bad "$tag: info left the journal"
  fi
  if [ -n "${KILL_RESUME:-}" ] && [ -e k.h5 ]; then  # kill the recovery itself, then resume again
    [ -s k.h5.journal ] || bad "$tag: no journal to recover from"
    mpirun "$n" $(shimenv 0) -x RTK_FAULT_KILL_AT="$KILL_RESUME" "$bin" run "$cfg" -o k.h5 "${sets[@]}" --resume >"$tag.r0" 2>&1
    [ $? -ne 0 ] || bad "$tag: the resume was not killed"
  fi
  mpirun "$n" "$bin" run "$cfg" -o k.h5 "${sets[@]}" --resume >"$tag.resume" 2>&1 \
    || { echo "  $tag: resume exit $?: $(grep error "$tag.resume" | head -1)"; return 1; }
  local kept
  kept=$(sed -n 's/^resumed: \([0-9]*\) of.*/\1/p' "$tag.resume"); kept=${kept:-0}
  [ "$kept" -ge "$before" ] || { echo "  $tag: $before runs done before the kill, $kept kept"; return 1; }
  [ -e k.h5.journal ] && { echo "  $tag: journal left after a complete resume"; return 1; }
  mv k.h5 "res_$tag.h5"
  echo "  $tag: killed with $before run(s) done, resume kept $kept$(grep -q 'was restored' "$tag.resume" && echo ', restored from the journal')"
  return 0
}

# the calls of a run on N ranks, as seen by rank R
trace() { # ranks rank name [extra]
  local n=$1 r=$2 name=$3
  shift 3
  rm -f k.h5 k.h5.tmp k.h5.lock k.h5.journal "$name"
  mpirun "$n" $(shimenv "$r") -x RTK_FAULT_TRACE="$work/$name" "$@" "$bin" run "$cfg" -o k.h5 "${sets[@]}" >trace.log 2>&1 \
    || { echo "trace run failed"; cat trace.log; exit 1; }
}
trace 1 0 trace_1_0.txt
trace 2 0 trace_2_0.txt
trace 2 1 trace_2_1.txt
trace 1 0 trace_ctl.txt -x RTK_TEST_FAIL=journal

# choose N: commits are the journal's truncations; a run's final (link)
# flush is the short interval between the commits of its two flushes
pick() { # trace_file what
  $py - "$1" "$2" <<'PY'
import random, sys
rows = [l.split() for l in open(sys.argv[1])]
idx = lambda r: int(r[0])
what = sys.argv[2]
rnd = random.Random(10)
if what == "control":  # no journal: the flushes end with HDF5's fsync of the file
    syncs = [idx(r) for r in rows if r[1] == "fsync" and r[2].endswith("k.h5")]
    a, b = syncs[2], syncs[3]                        # run 2's link flush (after the header's and run 1's)
    out = list(range(a + 1, b + 1))
else:
    commits = [idx(r) for r in rows if r[1].startswith("ftruncate") and r[2].endswith(".journal")]
    spans = list(zip(commits, commits[1:]))
    link = [s for s in spans if s[1] - s[0] < 40]
    data = [s for s in spans if s[1] - s[0] >= 40]
    out = []
    if what == "link1":                              # every call of run 2's final flush and its commit
        a, b = link[1]
        out = list(range(a + 1, b + 2))
    elif what == "mixed":                            # run 3: data flush, final flush, commit; the close
        out += rnd.sample(range(*data[2]), 1)
        out += [link[2][0] + 2, (link[2][0] + link[2][1]) // 2, link[2][1] + 1]
        out += [idx(rows[-1])]
    elif what == "rank1":                            # rank 1: its raw data writes
        out = rnd.sample(range(1, idx(rows[-1]) + 1), 1)
print(" ".join(map(str, sorted(set(out)))))
PY
}

echo "1 rank, every call of a run's final flush:"
for N in $(pick trace_1_0.txt link1); do kill_case 1 0 "$N" || bad "1 rank, kill at call $N"; done
echo "1 rank, data flush, final flush, commit, close:"
for N in $(pick trace_1_0.txt mixed); do kill_case 1 0 "$N" || bad "1 rank, kill at call $N"; done
echo "2 ranks, rank 0:"
for N in $(pick trace_2_0.txt mixed | cut -d' ' -f1-3); do kill_case 2 0 "$N" || bad "2 ranks, kill rank 0 at call $N"; done
echo "2 ranks, rank 1:"
for N in $(pick trace_2_1.txt rank1); do kill_case 2 1 "$N" || bad "2 ranks, kill rank 1 at call $N"; done
echo "kill during the recovery:"
# the 8th call of a final flush: saved regions, the first overwrite done
KILL_RESUME=1 kill_case 1 0 "$(pick trace_1_0.txt link1 | awk '{print $8}')" || bad "recovery killed at its first write"
KILL_RESUME=2 kill_case 2 0 "$(pick trace_2_0.txt link1 | awk '{print $8}')" || bad "recovery killed at its second write"

echo "info on a file left mid-flush:"
INFO_FIRST=1 kill_case 1 0 "$(pick trace_1_0.txt link1 | awk '{print $10}')" || bad "info, then resume"

echo "every resumed file against the uninterrupted run:"
$py - "$src/tests" ref.h5 res_*.h5 <<'PY' || bad "a resumed file differs from the uninterrupted run"
import sys
sys.path.insert(0, sys.argv[1])
import h5check
bad = 0
for f in sys.argv[3:]:
    errs = h5check.same(sys.argv[2], f)
    if errs:
        bad += 1
        print(f"  {f}: {errs[:3]}")
print(f"  {len(sys.argv) - 3 - bad} of {len(sys.argv) - 3} bitwise equal")
sys.exit(1 if bad else 0)
PY

echo "control, journal off:"
broken=0 ctl=0
for N in $(pick trace_ctl.txt control); do
  ctl=$((ctl + 1))
  CTL=_ctl kill_case 1 0 "$N" -x RTK_TEST_FAIL=journal || broken=$((broken + 1))
done
cases=$((cases - ctl))
[ $broken -ge 1 ] && echo "control: $broken of $ctl kills inside a final flush break the file without the journal" \
  || bad "control: without the journal no kill broke the file (the test cannot fail)"

[ $exact -ge 20 ] || bad "only $exact byte-exact rollback checks ran (expected >= 20)"
echo "byte-exact rollbacks: $exact kill points rolled back to the last committed file byte for byte"
echo "torn flushes: $cases kill points, $failn failures"
[ $failn -eq 0 ] && echo "1 passed, 0 failed" || echo "0 passed, 1 failed"
exit $((failn > 0))
