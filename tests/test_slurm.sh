#!/bin/bash
# hpc/slurm/run_study.sbatch on a real single-node Slurm started here (munged,
# slurmctld, slurmd from Debian's packages, all in a temporary folder):
#   1. a study that fits its walltime: exit 0, file equal to a direct mpirun run;
#   2. a study that does not (--time=00:01:00, SBATCH_SIGNAL=TERM@30): the first
#      job is signalled, rtkbench exits 3, the job resubmits itself with a
#      dependency, the next job(s) resume; final file equal to an uninterrupted run;
#   3. scancel --signal=KILL of the ranks during the first run, then a new
#      submission: it completes (file equal) or fails with a clear message, in
#      bounded time.
# A daemon that cannot start is a failure.  Everything started here is stopped
# on exit, failure included.
# usage: test_slurm.sh RTKBENCH MPIEXEC WORKDIR SRCDIR   (RTK_SLURM_SCENARIOS="1 3": only those)
set -u
bin=$1 mpiexec=$2 work=$3 src=$4
only=${RTK_SLURM_SCENARIOS:-1 2 3}
want() { [[ " $only " == *" $1 "* ]]; }
py=/usr/bin/python3
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OPENBLAS_NUM_THREADS=1
t0=$(date +%s)
pass=0 fail=0
ok() { echo "PASS $1 [$(($(date +%s) - t0))s]"; pass=$((pass + 1)); }
bad() { echo "FAIL $1 [$(($(date +%s) - t0))s]"; fail=$((fail + 1)); }

for c in munged munge slurmctld slurmd sbatch squeue scontrol scancel sinfo; do
  command -v $c >/dev/null 2>&1 || { echo "FAIL $c not found: install slurm-wlm and munge (scripts/setup-debian.sh)"; exit 1; }
done

rm -rf "$work"
mkdir -p "$work"
# our own deadline, before CTest's TIMEOUT (1800 s) would SIGKILL us with the daemons running
( trap 'kill $sp 2>/dev/null; exit 0' TERM; sleep "${RTK_SLURM_DEADLINE:-1620}" & sp=$!; wait $sp \
  && echo "FAIL test_slurm.sh: deadline reached, stopping" && kill -TERM $$ ) &
watchdog=$!
# daemons' sockets, state and logs: a short path (unix socket names are limited to 108 bytes)
rt=$(mktemp -d /tmp/rtkslurm.XXXXXX) || exit 1
chmod 755 "$rt"                     # munged wants the socket's folder searchable by all
mkdir -p "$rt/munge" "$rt/sock" "$rt/state" "$rt/spool" "$rt/log"
chmod 700 "$rt/munge"
conf=$rt/slurm.conf
export SLURM_CONF=$conf             # for sbatch/squeue/...; inherited by the daemons, their steps and the jobs
pids=()

dump_logs() {
  for f in "$rt"/log/*; do echo "---- $f (tail)"; tail -n 25 "$f"; done
  for f in "$work"/*.out; do [ -f "$f" ] && { echo "---- $f"; tail -n 40 "$f"; }; done
}

# our processes: the daemons we started, and whatever inherited our SLURM_CONF
# (slurmstepd, batch scripts, ranks), never this shell or its ancestors
ours() {
  local p
  for p in /proc/[0-9]*; do
    p=${p#/proc/}
    [ "$p" = $$ ] || [ "$p" = "$BASHPID" ] && continue
    tr "\0" "\n" 2>/dev/null <"/proc/$p/environ" | grep -qxF "SLURM_CONF=$conf" && echo "$p"
  done
}

cleanup() {
  trap - EXIT INT TERM
  kill -TERM "$watchdog" 2>/dev/null
  if [ -n "${ctld_up:-}" ]; then
    timeout 10 scancel --user="$(id -un)" >/dev/null 2>&1
    for _ in $(seq 1 20); do [ -z "$(timeout 5 squeue -h 2>/dev/null)" ] && break; sleep 0.5; done
  fi
  [ "$fail" != 0 ] && dump_logs
  local p left
  for p in "${pids[@]}" $(ours); do kill -TERM "$p" 2>/dev/null; done
  for _ in $(seq 1 50); do
    left=""
    for p in "${pids[@]}" $(ours); do kill -0 "$p" 2>/dev/null && left="$left $p"; done
    [ -z "$left" ] && break
    sleep 0.2
  done
  for p in $left; do kill -KILL "$p" 2>/dev/null; done
  left=""
  for p in "${pids[@]}" $(ours); do kill -0 "$p" 2>/dev/null && left="$left $p"; done
  [ -n "$left" ] && bad "processes left running:$left"
  rm -rf "$rt"
  echo "$pass passed, $fail failed in $(($(date +%s) - t0))s"
  [ "$fail" = 0 ] && exit 0
  exit 1
}
trap cleanup EXIT
trap 'bad "interrupted"; exit 1' INT TERM
die() { bad "$1"; exit 1; }

# a free TCP port pair (nothing answers on either)
free_port() {
  local p
  for _ in $(seq 1 50); do
    p=$((20000 + RANDOM % 30000))
    (exec 3<>/dev/tcp/127.0.0.1/$p) 2>/dev/null && continue
    (exec 3<>/dev/tcp/127.0.0.1/$((p + 1))) 2>/dev/null && continue
    echo $p
    return
  done
  return 1
}
port=$(free_port) || die "no free TCP port found"
host=$(hostname -s)
ncpu=$(nproc)
[ "$ncpu" -ge 2 ] || die "needs 2 CPUs, has $ncpu"

# munge: a fresh key, our own socket
head -c 1024 /dev/urandom >"$rt/munge/munge.key"
chmod 400 "$rt/munge/munge.key"
munged -F --key-file="$rt/munge/munge.key" --socket="$rt/sock/munge" --pid-file="$rt/munge/pid" \
  --seed-file="$rt/munge/seed" --log-file="$rt/log/munged.log" >"$rt/log/munged.out" 2>&1 &
pids+=($!)
for _ in $(seq 1 100); do [ -S "$rt/sock/munge" ] && break; kill -0 "${pids[0]}" 2>/dev/null || break; sleep 0.1; done
munge -S "$rt/sock/munge" -n 2>/dev/null | unmunge -S "$rt/sock/munge" >/dev/null 2>&1 \
  || { cat "$rt/log/munged.out"; die "munged did not start (log above)"; }
ok "munged up"

cat >"$conf" <<EOF
ClusterName=rtktest
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=$port
SlurmdPort=$((port + 1))
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$rt/sock/munge
StateSaveLocation=$rt/state
SlurmdSpoolDir=$rt/spool
SlurmctldPidFile=$rt/slurmctld.pid
SlurmdPidFile=$rt/slurmd.pid
SlurmctldLogFile=$rt/log/slurmctld.log
SlurmdLogFile=$rt/log/slurmd.log
MailProg=/bin/true
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
MpiDefault=none
ReturnToService=2
MinJobAge=120
KillWait=10
InactiveLimit=0
NodeName=rtknode NodeHostname=$host NodeAddr=127.0.0.1 CPUs=$ncpu State=UNKNOWN
PartitionName=rtk Nodes=rtknode Default=YES MaxTime=INFINITE State=UP
EOF
slurmctld -D -i -f "$conf" >"$rt/log/slurmctld.out" 2>&1 &
pids+=($!)
ctld_up=1
slurmd -D -N rtknode -f "$conf" >"$rt/log/slurmd.out" 2>&1 &
pids+=($!)
state=""
for _ in $(seq 1 60); do
  state=$(timeout 5 sinfo -h -n rtknode -o %t 2>/dev/null)
  [ "$state" = idle ] && break
  for p in "${pids[@]}"; do kill -0 "$p" 2>/dev/null || break 2; done
  sleep 1
done
if [ "$state" != idle ]; then
  dead=""
  kill -0 "${pids[1]}" 2>/dev/null || dead="$dead slurmctld"
  kill -0 "${pids[2]}" 2>/dev/null || dead="$dead slurmd"
  dump_logs
  die "Slurm did not come up: node state '${state:-no answer}'${dead:+, exited:$dead} (daemon logs above)"
fi
ok "slurmctld + slurmd up, node idle (ports $port-$((port + 1)), $ncpu CPUs)"

cd "$work" || die "cd $work"
# the batch script as a user runs it; only its environment and sbatch options differ.
# Open MPI 4.1 needs PMIx from srun (Debian's MpiDefault is none): SLURM_MPI_TYPE=pmix
export RTKBENCH=$bin SLURM_MPI_TYPE=pmix
submit() { sbatch --parsable --ntasks-per-node=2 "$@" 2>&1; }
msg=$(sbatch --test-only --ntasks-per-node=2 "$src/hpc/slurm/run_study.sbatch" "$src/tests/resume.ini" 2>&1) \
  && ok "sbatch --test-only: $msg" || bad "sbatch --test-only: $msg"

# field of `scontrol show job -o` (JobState, ExitCode, StartTime, EndTime, ...)
jobfield() { timeout 10 scontrol show job -o "$1" 2>/dev/null | tr ' ' '\n' | sed -n "s/^$2=//p"; }

# wait (at most $2 seconds) until job $1 has ended; prints its state
wait_job() {
  local s
  for _ in $(seq 1 "$2"); do
    s=$(jobfield "$1" JobState)
    case "$s" in
      COMPLETED | FAILED | CANCELLED | TIMEOUT | NODE_FAIL | OUT_OF_MEMORY | BOOT_FAIL | DEADLINE | PREEMPTED)
        echo "$s"
        return 0
        ;;
    esac
    sleep 1
  done
  echo "still ${s:-unknown} after $2 s"
  return 1
}

small=$src/tests/resume.ini          # 9 runs, ~10-20 s on 2 ranks
long=$src/tests/slurm_walltime.ini   # 12 runs, ~40 s and more on 2 ranks
timeout 300 "$mpiexec" -n 2 --oversubscribe "$bin" run "$small" -o "$work/ref_small.h5" >"$work/ref_small.log" 2>&1 \
  || { cat "$work/ref_small.log"; die "direct mpirun of $small"; }
if want 2; then
  timeout 600 "$mpiexec" -n 2 --oversubscribe "$bin" run "$long" -o "$work/ref_long.h5" >"$work/ref_long.log" 2>&1 \
    || { cat "$work/ref_long.log"; die "direct mpirun of $long"; }
fi
ok "reference files by direct mpirun"

# ---- 1. a study that fits its walltime (10 min: the script's TERM@300 comes at 4.5-5 min)
if want 1; then
  j=$(OUT=$work/fit.h5 submit --time=00:10:00 "$src/hpc/slurm/run_study.sbatch" "$small") || die "sbatch: $j"
  st=$(wait_job "$j" 300)
  code=$(jobfield "$j" ExitCode)
  [ "$st" = COMPLETED ] && [ "$code" = 0:0 ] && ok "1. job $j: $st, exit $code" || bad "1. job $j: $st, exit $code"
  grep -q "resubmitting" "rtkbench-$j.out" && bad "1. job $j resubmitted itself"
  $py "$src/tests/h5check.py" same "$work/ref_small.h5" "$work/fit.h5" >/dev/null \
    && ok "1. Slurm file == direct mpirun file" || bad "1. Slurm file differs from the direct run"
fi

# ---- 2. a study longer than its walltime: SIGTERM 30 s before (Slurm sends it up to
# 30 s earlier still), exit 3, resubmission with a dependency, resume, ... until done
if want 2; then
  # slurmctld looks at time limits every 30 s; a signal due before a job's first
  # srun step exists is lost, and one during MPI_Init kills the ranks.  Find the
  # phase of those checks with a probe job that is signalled at the first check
  # after its start, then submit ~14 s after a check: the first job is
  # signalled ~15 s into its run, the next jobs (started just after a check,
  # when the previous one stops) ~28 s into theirs.
  for try in 1 2 3; do
    probe=$(sbatch --parsable --ntasks=1 --time=00:01:00 --signal=TERM@59 -o probe-%j.out --wrap "srun sleep 100" 2>&1) \
      || die "sbatch probe: $probe"
    st=$(wait_job "$probe" 40) && break
    timeout 10 scancel "$probe"
    wait_job "$probe" 30 >/dev/null
  done
  [ "$try" = 3 ] && [ "${st#still}" != "$st" ] && die "probe job never signalled"
  sleep 14
  j=$(OUT=$work/chain.h5 SBATCH_SIGNAL=TERM@30 submit --time=00:01:00 "$src/hpc/slurm/run_study.sbatch" "$long") \
    || die "sbatch: $j"
  chain=($j)
  final=""
  for k in $(seq 1 20); do
    st=$(wait_job "$j" 240) || { bad "2. job $k ($j) did not end: $st"; break; }
    out=rtkbench-$j.out
    if grep -q "walltime reached; resubmitting" "$out"; then
      grep -q "stopped by a signal" "$out" && grep -q "Exited with exit code 3" "$out" \
        && ok "2. job $k ($j): signalled, rtkbench exit 3, resubmitted ($(grep -o 'with [0-9]* of [0-9]* runs complete' "$out"))" \
        || { bad "2. job $k ($j) resubmitted without a clean signal stop (exit 3)"; break; }
      nxt=$(sed -n 's/^Submitted batch job \([0-9]*\).*/\1/p' "$out")
      [ -n "$nxt" ] || { bad "2. job $j: no resubmitted job id"; break; }
      # the dependency: the next job started only after this one ended
      wait_job "$nxt" 240 >/dev/null
      s1=$(jobfield "$nxt" StartTime) e0=$(jobfield "$j" EndTime)
      [ -n "$s1" ] && [ -n "$e0" ] && ! [[ "$s1" < "$e0" ]] \
        && ok "2. job $nxt started ($s1) after job $j ended ($e0)" || bad "2. job $nxt started $s1 before job $j ended $e0"
      j=$nxt
      chain+=($j)
    else
      final=$j
      break
    fi
  done
  if [ -n "$final" ]; then
    code=$(jobfield "$final" ExitCode) st=$(jobfield "$final" JobState)
    [ ${#chain[@]} -ge 2 ] && ok "2. chain of ${#chain[@]} jobs: ${chain[*]}" \
      || bad "2. the first job was not signalled (the study finished within its walltime: machine too fast for $long?)"
    [ "$st" = COMPLETED ] && [ "$code" = 0:0 ] && ok "2. last job $final: $st, exit $code" || bad "2. last job $final: $st, exit $code"
    grep -q "already complete" "rtkbench-$final.out" && ok "2. last job resumed (skipped complete runs)" \
      || [ ${#chain[@]} -lt 2 ] || bad "2. last job did not resume"
    $py "$src/tests/h5check.py" contract "$work/chain.h5" >/dev/null && ok "2. chained file meets the contract" \
      || bad "2. chained file contract"
    $py "$src/tests/h5check.py" same "$work/ref_long.h5" "$work/chain.h5" \
      && ok "2. chained file == uninterrupted (bitwise, samples and metrics)" || bad "2. chained file differs"
  else
    bad "2. chain did not finish within 20 jobs: ${chain[*]}"
  fi
fi

# ---- 3. SIGKILL of the ranks in the middle of the first job (as a node's OOM killer or
# a crash would: `scancel --signal=KILL JOB` would cancel the job, SIGTERM first, so
# the step is signalled), then a new submission by hand
if want 3; then
  j=$(OUT=$work/killed.h5 submit --time=00:10:00 "$src/hpc/slurm/run_study.sbatch" "$small") || die "sbatch: $j"
  for _ in $(seq 1 1500); do
    n=$(grep -c ' done:' "rtkbench-$j.out" 2>/dev/null)
    [ "${n:-0}" -ge 1 ] && break
    case "$(jobfield "$j" JobState)" in RUNNING | PENDING | CONFIGURING) ;; *) break ;; esac
    sleep 0.2
  done
  timeout 10 scancel --signal=KILL "$j.0"
  st=$(wait_job "$j" 120)
  code=$(jobfield "$j" ExitCode)
  ndone=$(grep -c ' done:' "rtkbench-$j.out")
  if [ "$st" = FAILED ] && ! grep -q "stopped by a signal" "rtkbench-$j.out" && ! grep -q resubmitting "rtkbench-$j.out"; then
    ok "3. ranks of job $j SIGKILLed after $ndone of 9 runs: $st, exit $code, no resubmission"
  else
    bad "3. job $j: $st, exit $code, $ndone runs done (not killed hard?)"
  fi
  j=$(OUT=$work/killed.h5 submit --time=00:10:00 "$src/hpc/slurm/run_study.sbatch" "$small") || die "sbatch: $j"
  st=$(wait_job "$j" 300) || bad "3. the resubmitted job $j hangs: $st"
  code=$(jobfield "$j" ExitCode)
  if [ "$st" = COMPLETED ] && [ "$code" = 0:0 ]; then
    $py "$src/tests/h5check.py" same "$work/ref_small.h5" "$work/killed.h5" \
      && ok "3. resubmitted job $j recovered: exit 0, file == uninterrupted" || bad "3. recovered file differs"
  elif [ "$code" != 0:0 ] && grep -q "rtkbench: error:" "rtkbench-$j.out"; then
    ok "3. resubmitted job $j refused clearly ($st, exit $code): $(grep -m1 'rtkbench: error:' "rtkbench-$j.out")"
  else
    bad "3. resubmitted job $j: $st, exit $code, no clear message"
  fi
fi
