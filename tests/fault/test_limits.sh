#!/bin/bash
# Bounded input, one writer per file, and signals:
# - configuration files must be regular files under 1 MiB without NUL bytes
#   (a FIFO or /dev/zero must not hang or exhaust memory); "[run" without ']'
#   is reported on its own line; sweeps are capped; time.times cannot be
#   swept; a --set of a swept key is refused; long output paths, oversized
#   targets and runs needing more memory than available are refused up
#   front; validate prints the per-rank memory estimate.  All exit 2, fast,
#   no output file.
# - an allocation failure in the diagnostics on one rank of 2 (test hook):
#   exit 1, one message, bounded time.
# - info takes a shared lock: refused while a writer holds the file, and
#   holds a writer off while it reads.
# - a second writer (run, --force, --resume) on a file being written is
#   refused with exit 2 and the first job's file stays valid.
# - SIGTERM inside a long block stops within a bounded time with exit 3 and
#   a shell-quoted resume command that works as printed; SIGTERM during
#   start-up (at a test-hook pause, no timing assumption) exits 3 too.
# usage: test_limits.sh RTKBENCH MPIEXEC WORKDIR SRCDIR
set -u
bin=$1 mpiexec=$2 work=$3 src=$4
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
mkdir -p "$work" && cd "$work" || exit 1
rm -rf ./*.h5* ./*.ini ./*.log fifo.ini "o u't"*
cases=0 failn=0
bad() { echo "FAIL $*"; failn=$((failn + 1)); }

# refuse NAME EXPECTED_TEXT CMD...: exit 2 within 20 s, the text in stderr, no output file
refuse() {
  local name=$1 text=$2
  shift 2
  cases=$((cases + 1))
  rm -f out.h5 out.h5.tmp
  timeout -k 5 20 "$@" >"$name.log" 2>&1
  local rc=$?
  [ $rc -eq 2 ] || { bad "$name: exit $rc (expected 2)"; tail -2 "$name.log"; }
  grep -qF -- "$text" "$name.log" || { bad "$name: message lacks '$text'"; tail -2 "$name.log"; }
  [ -e out.h5 ] || [ -e out.h5.tmp ] && bad "$name: an output file was created"
  return 0
}
tiny="$src/tests/fault/tiny.ini"

mkfifo fifo.ini
refuse fifo "not a regular file" "$bin" run fifo.ini -o out.h5
refuse devzero "not a regular file" "$bin" validate /dev/zero
refuse devzero_run "not a regular file" "$bin" run /dev/zero -o out.h5
head -c 1100000 /dev/zero | tr '\0' ';' >big.ini
refuse big_config "at most 1048576" "$bin" run big.ini -o out.h5
printf '[run]\nparticles = 10\n\0[target]\n' >nul.ini
refuse nul_byte "nul.ini:3: NUL byte" "$bin" run nul.ini -o out.h5
printf '[run\nparticles = 10\n' >open.ini
refuse open_section "open.ini:1: section header without a closing ']'" "$bin" run open.ini -o out.h5
vals=$(seq -s, 1 2000)
refuse sweep_cap "expands to 8000000 runs" "$bin" run "$tiny" -o out.h5 --set "sweep.seed=$vals" --set "sweep.particles=$(seq -s, 100 2099)"
refuse sweep_values "more than 10000 values" "$bin" validate "$tiny" --set "sweep.seed=$(seq -s, 1 10001)"
printf '[run]\nsamplers = ddpm\n[sweep]\ntime.times = 5, 1, 0.01\n' >times.ini
refuse sweep_times "times cannot be swept" "$bin" validate times.ini
printf '[run]\nsamplers = ddpm\nparticles = 100\n[sweep]\nddpm.grid = uniform, geometric\n' >swept.ini
refuse set_swept "ddpm.grid is swept at" "$bin" run swept.ini -o out.h5 --set ddpm.grid=uniform
refuse long_path "at most 200 are allowed" "$bin" run "$tiny" -o "$(printf 'p%.0s' $(seq 1 250)).h5"
printf '[run]\nsamplers = exact\n[target]\nkind = mog-grid\nside = 1000\ndim = 1000000\n' >target.ini
refuse huge_target "exceeds the limit" "$bin" validate target.ini
printf '[run]\nsamplers = exact\nparticles = 1000000000000\n' >mem.ini
refuse memory "run.memory_check = false" "$bin" run mem.ini -o out.h5
refuse memory_3ranks "run.memory_check = false" "$mpiexec" -n 3 --oversubscribe "$bin" run mem.ini -o out.h5
cases=$((cases + 1))
timeout 20 "$bin" validate mem.ini >validate.log 2>&1 && grep -q "MiB/rank" validate.log && grep -q "Estimated peak memory per rank" validate.log && grep -q "would refuse this study" validate.log \
  || bad "validate does not print the per-rank memory estimate"

# wait_for FILE TEXT: until TEXT appears in FILE (at most 60 s)
wait_for() { for _ in $(seq 1 3000); do grep -qF -- "$2" "$1" 2>/dev/null && return 0; sleep 0.02; done; return 1; }

# one writer per file: a second job is refused while the first writes.  The
# first job (2 ranks) is held inside its run by the test hook on rank 0
# (RTK_TEST_PAUSE=segment@0: paused at the first step boundary, file locked
# and being written) until SIGUSR2, so no check depends on the machine's speed.
slow="$src/tests/fault/slow.ini"
"$mpiexec" -n 2 --oversubscribe -x RTK_TEST_PAUSE=segment@0 "$bin" run "$slow" -o busy.h5 --set run.particles=2048 >busy.log 2>&1 &
first=$!
cases=$((cases + 1))
wait_for busy.log "paused at segment" || bad "the writer's pause marker was not seen"
held=$(sed -n 's/.*paused at segment (pid \([0-9]*\)).*/\1/p' busy.log | head -1)
for mode in "" --force --resume; do
  cases=$((cases + 1))
  timeout -k 5 20 "$bin" run "$slow" -o busy.h5 $mode >second.log 2>&1; rc=$?
  [ $rc -eq 2 ] && grep -q "in use by another rtkbench process" second.log || { bad "second writer ($mode): exit $rc"; cat second.log; }
done
# info takes a shared lock: refused (exit 2) while the writer holds the file
cases=$((cases + 1))
timeout 20 "$bin" info busy.h5 >info_busy.log 2>&1; rc=$?
[ $rc -eq 2 ] && grep -q "is being written by another rtkbench process" info_busy.log \
  || { bad "info during a write: exit $rc"; cat info_busy.log; }
cases=$((cases + 1))
[ -n "$held" ] && kill -USR2 "$held" # let the writer carry on
timeout 120 tail --pid=$first -f /dev/null; wait $first; rc=$?
[ $rc -eq 0 ] && timeout 30 "$bin" info busy.h5 --verify >/dev/null 2>&1 || bad "the first job did not finish cleanly ($rc) or its file does not verify"
[ -e busy.h5.lock ] && bad "the lock file was left behind"

# SIGTERM inside a single block (the test hook holds the run at its first
# step boundary, mid-block, until the signal; the sampler must then stop at
# its next step): bounded stop, exit 3, quoted resume command
cases=$((cases + 1))
out="o u't.h5"
RTK_TEST_PAUSE=segment "$bin" run "$slow" -o "$out" >sig.log 2>&1 &
pid=$!
wait_for sig.log "paused at segment" || bad "SIGTERM mid-block: pause marker not seen"
t0=$(date +%s%N)
kill -TERM $pid
for _ in $(seq 1 600); do kill -0 $pid 2>/dev/null || break; sleep 0.02; done
wait $pid; rc=$?
ms=$((($(date +%s%N) - t0) / 1000000))
[ $rc -eq 3 ] || { bad "SIGTERM mid-block: exit $rc (expected 3)"; cat sig.log; }
[ $ms -le 2000 ] || bad "SIGTERM mid-block honoured only after $ms ms"
echo "SIGTERM mid-block: stopped after $ms ms"
cmd=$(grep -A1 "to finish the study run" sig.log | tail -1)
cases=$((cases + 1))
case $cmd in *"'o u'\\''t.h5'"*) ;; *) bad "resume command not shell-quoted: $cmd" ;; esac
timeout 60 bash -c "$cmd" >resume.log 2>&1 && timeout 30 "$bin" info "$out" --verify >/dev/null 2>&1 \
  || { bad "the printed resume command does not work: $cmd"; cat resume.log; }

# SIGTERM during start-up (study expanded, targets built, before the output
# is touched): exit 3, no file.  The test hook pauses there and says so, so
# the signal arrives during start-up whatever the machine's speed.
cases=$((cases + 1))
rm -f start.h5 start.h5.tmp
RTK_TEST_PAUSE=startup "$bin" run "$src/tests/fault/startup.ini" -o start.h5 >start.log 2>&1 &
pid=$!
wait_for start.log "paused at startup" || bad "start-up pause marker not seen"
kill -TERM $pid
timeout 60 tail --pid=$pid -f /dev/null
wait $pid; rc=$?
[ $rc -eq 3 ] || { bad "SIGTERM during start-up: exit $rc (expected 3)"; cat start.log; }
[ -e start.h5 ] || [ -e start.h5.tmp ] && bad "SIGTERM during start-up left an output file"

# an allocation failure inside the diagnostics on one rank (test hook):
# every rank stops, one message, exit 1, in bounded time, no file left
for r in 0 1; do
  cases=$((cases + 1))
  rm -f oom.h5 oom.h5.tmp oom.h5.journal
  timeout -k 5 60 "$mpiexec" -n 2 --oversubscribe -x RTK_TEST_FAIL=diag_alloc@$r "$bin" run "$tiny" -o oom.h5 >oom.log 2>&1
  rc=$?
  n=$(grep -c 'rtkbench: error:' oom.log)
  [ $rc -eq 1 ] && [ "$n" -eq 1 ] && grep -q "out of memory writing the diagnostics" oom.log \
    || { bad "diagnostics allocation failure on rank $r of 2: exit $rc, $n error lines"; cat oom.log; }
  [ -e oom.h5 ] || [ -e oom.h5.tmp ] || [ -e oom.h5.journal ] && bad "diagnostics allocation failure: a file was left"
done

# a writer is refused while info reads a file (info's shared lock); the
# lock file is removed afterwards
cases=$((cases + 1))
RTK_TEST_PAUSE=info "$bin" info busy.h5 >info_hold.log 2>&1 &
reader=$!
wait_for info_hold.log "paused at info" || bad "info pause marker not seen"
timeout -k 5 20 "$bin" run "$slow" -o busy.h5 --resume >writer.log 2>&1; rc=$?
[ $rc -eq 2 ] && grep -q "in use by another rtkbench process" writer.log || { bad "a writer while info reads: exit $rc"; cat writer.log; }
kill -TERM $reader; wait $reader
[ -e busy.h5.lock ] && bad "info left the lock file behind"

echo "limits, lock and signals: $cases cases, $failn failures"
[ $failn -eq 0 ] && echo "1 passed, 0 failed" || echo "0 passed, 1 failed"
exit $((failn > 0))
