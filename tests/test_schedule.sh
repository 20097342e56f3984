#!/bin/bash
# run.schedule = dynamic (the ranks of a node share out their blocks at run
# time, src/app/schedule.c) gives the same bits as the static schedule, also
# when one rank is slow and computes fewer particles, and a signal to one rank
# stops every rank without a deadlock.  usage: test_schedule.sh RTKBENCH MPIEXEC WORKDIR SRCDIR
set -u
bin=$1 mpiexec=$2 work=$3 src=$4
py=/usr/bin/python3
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
rm -rf "$work"
mkdir -p "$work"
cd "$work" || exit 1
fail=0
bad() { echo "FAIL: $*"; fail=1; }
run() { # ranks out [extra args]: tests/repro.ini (every sampler, boundaries and trace on)
  local n=$1 out=$2
  shift 2
  timeout 300 "$mpiexec" -n "$n" --oversubscribe ${MPIX:-} "$bin" run "$src/tests/repro.ini" -o "$out" --force "$@" >"$out.log" 2>&1 \
    || { bad "run with $n ranks $*"; cat "$out.log"; }
}
same() { echo "== $1 vs $2"; $py "$src/tests/h5check.py" same "$1" "$2" || fail=1; }
dyn="--set run.schedule=dynamic" sta="--set run.schedule=static" # explicit: whatever the default
run 1 s1.h5 $sta
run 3 s3.h5 $sta
for n in 1 2 3; do
  run $n d$n.h5 $dyn
  same s1.h5 d$n.h5
done
same s3.h5 d3.h5
# the schedule used, per run: static for static, and for dynamic on one rank (nothing to share); the study's
# digest (run ids and resolved configurations) is the same, since run.schedule is not part of a run's configuration
$py - <<'PY' || bad "schedule attributes / study digest"
import h5py
want = {"s1": "static", "s3": "static", "d1": "static", "d2": "dynamic", "d3": "dynamic"}
digest = set()
for f, w in want.items():
    with h5py.File(f + ".h5", "r") as h:
        got = {g.attrs["schedule"].decode() if isinstance(g.attrs["schedule"], bytes) else g.attrs["schedule"]
               for g in h["runs"].values()}
        assert got == {w}, (f, got)
        digest.add(h.attrs["study_digest"])
assert len(digest) == 1, digest
print("schedule attributes as used; one study digest")
PY
# a last block of 20 particles (1500 = 40 x 37 + 20), output.samples cutting through a rank's range
run 3 d3b.h5 $dyn --set run.block=37 --set output.samples=700
$py - s1.h5 d3b.h5 <<'PY' || bad "block 37 / output.samples = 700"
import sys, h5py, numpy as np
with h5py.File(sys.argv[1], "r") as a, h5py.File(sys.argv[2], "r") as b:
    for rid, ga in a["runs"].items():
        gb = b["runs"][rid]
        assert np.array_equal(ga["samples"][:700], gb["samples"][()]), rid
        assert np.array_equal(ga["boundaries"][()], gb["boundaries"][()]), rid
        assert np.array_equal(ga["trace/states"][()], gb["trace/states"][()]) if "trace" in ga else True, rid
        assert np.array_equal(ga["metrics/histograms"][()], gb["metrics/histograms"][()]), rid
print("block 37, output.samples = 700: the same samples, boundaries, traces and histograms")
PY
# smc (resampling inside groups of 64 ids: blocks of 128)
smc="--set run.samplers=smc --set smc.ess_threshold=0.9 --set run.nfe=25 --set run.block=128"
run 1 smc_s1.h5 $smc $sta
run 3 smc_d3.h5 $smc $dyn
same smc_s1.h5 smc_d3.h5

# a slow core: rank 1 sleeps 20 ms after each of its pieces (RTK_TEST_SLOW, src/app/testhook.h).  Static:
# every rank computes exactly its own range, one block a piece; dynamic: rank 1 computes fewer particles
# than it owns, the others more, the node's last pieces are smaller than a block (more pieces than blocks in
# all), and the file is the same
count() { # log rank column: sum over runs of particles "computed" (col=c), "own range" (col=o) or pieces (col=p)
  sed -n "s/.*test hook: run [0-9]* rank $2 computed \([0-9]*\) particles (\([0-9]*\) of its own \([0-9]*\)) in \([0-9]*\) pieces.*/\1 \3 \4/p" "$1" |
    awk -v c="$3" '{s += (c == "c" ? $1 : c == "o" ? $2 : $3)} END {print s + 0}'
}
export RTK_TEST_SLOW=1:20000 MPIX="-x RTK_TEST_SLOW"
run 3 slow_s3.h5 $sta
run 3 slow_d3.h5 $dyn
unset RTK_TEST_SLOW MPIX
same s1.h5 slow_s3.h5
same s1.h5 slow_d3.h5
for r in 0 1 2; do
  sc=$(count slow_s3.h5.log $r c) so=$(count slow_s3.h5.log $r o) dc=$(count slow_d3.h5.log $r c) do=$(count slow_d3.h5.log $r o)
  echo "rank $r: static computed $sc of its own $so particles; dynamic computed $dc of its own $do"
  [ "$so" -gt 0 ] && [ "$sc" = "$so" ] && [ "$do" = "$so" ] || bad "rank $r: static particle counts"
  if [ $r = 1 ]; then
    [ $((2 * dc)) -lt "$do" ] || bad "the slow rank computed $dc of its $do particles (dynamic): not fewer than half"
  else
    [ "$dc" -gt "$do" ] || bad "rank $r computed $dc particles, not more than its own $do (dynamic)"
  fi
done
total=0 owned=0 pstat=0 pdyn=0
for r in 0 1 2; do
  total=$((total + $(count slow_d3.h5.log $r c))) owned=$((owned + $(count slow_s3.h5.log $r o)))
  pstat=$((pstat + $(count slow_s3.h5.log $r p))) pdyn=$((pdyn + $(count slow_d3.h5.log $r p)))
done
[ "$total" = "$owned" ] || bad "dynamic: $total particles computed in all, not the $owned of the ranges"
echo "pieces in all: static $pstat (the blocks), dynamic $pdyn"
[ "$pdyn" -gt "$pstat" ] || bad "dynamic: $pdyn pieces for $pstat blocks: the last pieces were not smaller than a block"

# SIGTERM to one rank (held by the test hook mid-block at its first step boundary, while the
# other two take the remaining blocks): every rank stops, exit 3, and --resume with the other
# schedule (static) finishes the same file
"$mpiexec" -n 3 --oversubscribe -x RTK_TEST_PAUSE=segment@1 "$bin" run "$src/tests/repro.ini" -o sig.h5 --force $dyn \
  >sig.log 2>&1 &
job=$!
for _ in $(seq 1 1500); do grep -q "paused at segment" sig.log && break; sleep 0.02; done
pid=$(sed -n 's/.*paused at segment (pid \([0-9]*\)).*/\1/p' sig.log | head -1)
if [ -n "$pid" ]; then
  sleep 1 # the other ranks run ahead into rank 1's blocks, then wait for it
  kill -TERM "$pid"
else
  bad "SIGTERM to one rank: pause marker not seen"
fi
timeout 120 tail --pid=$job -f /dev/null
wait $job
rc=$?
[ $rc -eq 3 ] || { bad "SIGTERM to one rank (dynamic): exit $rc (expected 3)"; cat sig.log; }
timeout 300 "$mpiexec" -n 2 --oversubscribe "$bin" run "$src/tests/repro.ini" -o sig.h5 --resume $sta >resume.log 2>&1 \
  || { bad "--resume after SIGTERM"; cat resume.log; }
same s1.h5 sig.h5
"$bin" info sig.h5 --verify >/dev/null || bad "checksums of sig.h5"
$py - <<'PY' || bad "sig.h5: runs before the signal dynamic, after the resume static"
import h5py
with h5py.File("sig.h5", "r") as h:
    got = {rid: (g.attrs["schedule"].decode() if isinstance(g.attrs["schedule"], bytes) else g.attrs["schedule"])
           for rid, g in h["runs"].items()}
assert set(got.values()) == {"dynamic", "static"}, got
print("resumed with the other schedule:", sorted(got.items())[:3], "...")
PY
[ $fail = 0 ] && echo "1 passed, 0 failed" || echo "0 passed, 1 failed"
exit $fail
