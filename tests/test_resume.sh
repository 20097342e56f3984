#!/bin/bash
# Kill a 3-rank study with SIGTERM mid-way (as a scheduler does at walltime),
# resume it, and compare with an uninterrupted run: bitwise identical.
# usage: test_resume.sh RTKBENCH MPIEXEC WORKDIR SRCDIR
set -u
bin=$1 mpiexec=$2 work=$3 src=$4
py=/usr/bin/python3
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
mkdir -p "$work"
rm -f "$work"/resume*.h5 "$work"/full.h5
fail=0
ok() { echo "PASS $1"; }
bad() { echo "FAIL $1"; fail=1; }
cfg="$src/tests/resume.ini"

timeout 300 "$mpiexec" -n 3 --oversubscribe "$bin" run "$cfg" -o "$work/full.h5" >"$work/full.log" 2>&1 \
  && ok "uninterrupted run" || { bad "uninterrupted run"; cat "$work/full.log"; }

# start, wait for two finished runs, then SIGTERM every rank, as Slurm does at
# walltime (srun tasks, or sbatch --signal).  mpirun itself would forward the
# signal but SIGKILL the ranks a second later (odls_base_sigkill_timeout).
"$mpiexec" -n 3 --oversubscribe "$bin" run "$cfg" -o "$work/resume.h5" >"$work/r1.log" 2>"$work/r1.err" &
pid=$!
for _ in $(seq 1 600); do
  [ "$(grep -c ' done:' "$work/r1.err" 2>/dev/null)" -ge 2 ] && break
  kill -0 $pid 2>/dev/null || break
  sleep 0.05
done
kill -TERM $(pgrep -P $pid) 2>/dev/null
timeout 120 tail --pid=$pid -f /dev/null
wait $pid
code=$?
grep -q "stopped by a signal" "$work/r1.err" && ok "signal reported ($code)" || { bad "no clean stop (exit $code)"; cat "$work/r1.err"; }
grep -qF -- "run $cfg -o $work/resume.h5 --resume" "$work/r1.err" && ok "the resume command is printed" \
  || { bad "no resume command printed"; cat "$work/r1.err"; }
[ "$code" -ne 0 ] && ok "interrupted run exits nonzero" || bad "interrupted run exited 0 (finished before the signal?)"
$py - "$work/resume.h5" <<'PY' && ok "interrupted file is valid, some runs complete, none marked complete wrongly" || bad "interrupted file"
import sys, h5py
with h5py.File(sys.argv[1], "r") as f:
    st = {k: (g.attrs["status"].decode() if isinstance(g.attrs["status"], bytes) else g.attrs["status"]) for k, g in f["runs"].items()}
    print(st)
    done = [k for k, v in st.items() if v == "complete"]
    assert 2 <= len(done) < 9, done
    for k in done:
        assert "metrics/marginal_accuracy" in f["runs"][k]
PY

timeout 300 "$mpiexec" -n 3 --oversubscribe "$bin" run "$cfg" -o "$work/resume.h5" --resume >"$work/r2.log" 2>&1 \
  && ok "resume exits 0" || { bad "resume"; cat "$work/r2.log"; }
grep -q "already complete" "$work/r2.log" && ok "resume skipped finished runs" || bad "resume did not skip"
$py "$src/tests/h5check.py" contract "$work/resume.h5" >/dev/null && ok "resumed file meets the contract" || bad "contract"
$py "$src/tests/h5check.py" same "$work/full.h5" "$work/resume.h5" && ok "resumed == uninterrupted (bitwise)" || bad "resumed differs"

# resuming with a different configuration is refused (exit 2), the file untouched
cp "$work/resume.h5" "$work/resume_copy.h5"
timeout 120 "$mpiexec" -n 3 --oversubscribe "$bin" run "$cfg" -o "$work/resume.h5" --resume --set run.seed=4 \
  >"$work/r3.log" 2>&1
c=$?
[ $c -ne 0 ] && grep -q "different configuration" "$work/r3.log" && cmp -s "$work/resume.h5" "$work/resume_copy.h5" \
  && ok "changed config refused" || { bad "changed config accepted ($c)"; cat "$work/r3.log"; }
# a change to one sampler's runs only is refused too
timeout 120 "$mpiexec" -n 3 --oversubscribe "$bin" run "$cfg" -o "$work/resume.h5" --resume --set rtk-mala.segments=4 \
  >"$work/r5.log" 2>&1
c=$?
[ $c -eq 2 ] && grep -q "run .*rtk-mala.* different configuration" "$work/r5.log" \
  && cmp -s "$work/resume.h5" "$work/resume_copy.h5" && ok "one sampler's change refused" \
  || { bad "one sampler's change accepted ($c)"; cat "$work/r5.log"; }
timeout 120 "$mpiexec" -n 3 --oversubscribe "$bin" run "$cfg" -o "$work/resume.h5" --resume --set sweep.nfe=60,120 \
  >"$work/r4.log" 2>&1
c=$?
[ $c -eq 2 ] && grep -q "holds a study of 9 runs, this configuration expands to 6" "$work/r4.log" \
  && cmp -s "$work/resume.h5" "$work/resume_copy.h5" && ok "changed sweep refused" \
  || { bad "changed sweep accepted ($c)"; cat "$work/r4.log"; }
echo "$([ $fail = 0 ] && echo '1 passed, 0 failed' || echo '0 passed, 1 failed')"
exit $fail
