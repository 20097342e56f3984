#!/bin/bash
# Write-fault injection: the LD_PRELOAD shim (wfault.so) makes writes to the
# results file fail with ENOSPC (or EIO) after N bytes on one chosen rank.
# Driven over several N on 1, 2 and 3 ranks (faulting rank 0 and the last
# rank): every case must end within its timeout with exit code 1 (0 if the
# fault never fired, then the file equals the reference), print one error
# line, leave no run marked complete that fails verification, and
# `--resume` without the fault must complete bitwise identically to an
# uninterrupted run.  The 1- and 2-rank cases run again with OMPIO forced
# (`--mca io ompio`), where a write error OMPIO loses must be caught by the
# checksum.  Also: non-regular outputs are refused and never touched.
# usage: test_faults.sh RTKBENCH MPIEXEC SHIM WORKDIR SRCDIR
set -u
bin=$1 mpiexec=$2 shim=$3 work=$4 src=$5
py=/usr/bin/python3
cfg="$src/tests/fault/fault.ini"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export RTK_JOURNAL_SYNC=0  # the journal's syncs matter for node crashes only (docs/format.md)
mkdir -p "$work" && cd "$work" || exit 1
work=$(pwd)
rm -rf ./*.h5* ./*.log fifo_out dir_out link_out
cases=0 failn=0 fired=0
bad() { echo "FAIL $*"; failn=$((failn + 1)); }
io=romio   # which MPI-IO component: ROMIO (rtkbench's default) or OMPIO, forced by the user
mpirun() {
  local n=$1; shift
  if [ $io = ompio ]; then timeout -k 5 90 "$mpiexec" -n "$n" --oversubscribe -x RTK_JOURNAL_SYNC --mca io ompio "$@"
  else timeout -k 5 90 "$mpiexec" -n "$n" --oversubscribe -x RTK_JOURNAL_SYNC "$@"; fi
}

mpirun 1 "$bin" run "$cfg" -o ref.h5 >ref.log 2>&1 || { echo "reference run failed"; cat ref.log; exit 1; }
size=$(stat -c %s ref.h5)
# N: nothing, then fractions of the file (header, inside runs, inside flushes)
Ns="0 $((size / 4)) $((size / 2)) $((size * 4 / 5))"

one() { # ranks faulty_rank N errno
  local n=$1 r=$2 N=$3 e=$4 tag="${io}_n$1_r$2_$3_$4"
  cases=$((cases + 1))
  rm -f f.h5 f.h5.tmp f.h5.lock fired.log
  mpirun "$n" -x LD_PRELOAD="$shim" -x RTK_FAULT_PATH="$work/f.h5" -x RTK_FAULT_BYTES="$N" -x RTK_FAULT_RANK="$r" \
    -x RTK_FAULT_ERRNO="$e" -x RTK_FAULT_LOG="$work/fired.log" -x RTK_IO_ERROR_TIMEOUT=2 \
    "$bin" run "$cfg" -o f.h5 >"$tag.out" 2>"$tag.err"
  local rc=$? nerr
  nerr=$(grep -c 'rtkbench: error:' "$tag.err")
  if [ $rc -ge 124 ]; then bad "$tag: hung or crashed (exit $rc)"; return; fi
  if [ -s fired.log ] && [ $io = ompio ] && [ $rc -eq 0 ]; then
    # OMPIO lost the error: the study "succeeded"; the checksum must catch it
    fired=$((fired + 1)) lost=$((lost + 1))
    if timeout 60 "$bin" info f.h5 --verify >"$tag.verify" 2>&1; then
      $py "$src/tests/h5check.py" same ref.h5 f.h5 >/dev/null 2>&1 && lostok=$((lostok + 1)) \
        || bad "$tag: OMPIO lost a write error and the checksum did not catch it"
    else
      caught=$((caught + 1))
    fi
  elif [ -s fired.log ]; then
    fired=$((fired + 1))
    [ $rc -eq 1 ] || bad "$tag: fault fired, exit $rc (expected 1)"
    [ "$nerr" -eq 1 ] || bad "$tag: $nerr error lines (expected 1)"
  else
    [ $rc -eq 0 ] || bad "$tag: no fault fired but exit $rc"
  fi
  if [ -e f.h5 ]; then  # whatever is there: every run marked complete verifies
    timeout 60 "$bin" info f.h5 --verify >"$tag.verify" 2>&1 || bad "$tag: a run marked complete fails verification"
  fi
  mpirun "$n" "$bin" run "$cfg" -o f.h5 --resume >"$tag.resume" 2>&1 || { bad "$tag: resume failed"; tail -3 "$tag.resume"; return; }
  $py "$src/tests/h5check.py" same ref.h5 f.h5 >/dev/null 2>&1 || bad "$tag: resumed file differs from the uninterrupted run"
  [ -e f.h5.tmp ] && bad "$tag: temporary file left after the resume"
}

lost=0 caught=0 lostok=0
for N in $Ns; do one 1 0 "$N" ENOSPC; done
for N in $Ns; do one 2 0 "$N" ENOSPC; one 2 1 "$N" ENOSPC; done
for N in $Ns; do one 3 0 "$N" ENOSPC; one 3 2 "$N" EIO; done
[ $fired -ge $((cases / 2)) ] || bad "the fault fired in only $fired of $cases cases (the shim does not bite)"
# The same faults with OMPIO forced (--mca io ompio; the user's choice, not
# rtkbench's default).  The shim sees OMPIO's writes too (its posix fbtl
# calls pwrite/pwritev).  Where OMPIO reports the error, the expectations
# are ROMIO's; where it loses it (exit 0 although the fault fired), the
# run's checksum must catch the missing data (info --verify fails) and
# --resume must redo it; the final file must equal the reference either way.
io=ompio c0=$cases f0=$fired
for N in ${Ns#0 }; do one 1 0 "$N" ENOSPC; one 2 0 "$N" ENOSPC; one 2 1 "$N" ENOSPC; done
[ $((fired - f0)) -ge $(((cases - c0) / 2)) ] || bad "OMPIO: the fault fired in only $((fired - f0)) of $((cases - c0)) cases"
echo "OMPIO: $((cases - c0)) cases, $((fired - f0)) with the fault fired, $lost errors lost by OMPIO ($caught caught by the checksum, $lostok harmless)"
io=romio

# outputs that are not regular files are refused (exit 2) and never touched
mkfifo fifo_out; mkdir dir_out; ln -s ref.h5 link_out
dev=fifo_out
mknod dev_out c 1 7 2>/dev/null && dev=dev_out   # a /dev/full twin, when allowed (root)
for o in fifo_out dir_out link_out $dev; do
  for mode in "" --force --resume; do
    cases=$((cases + 1))
    timeout -k 5 30 "$bin" run "$cfg" -o "$o" $mode >nonreg.log 2>&1; rc=$?
    [ $rc -eq 2 ] || bad "-o $o $mode: exit $rc (expected 2)"
    [ -e "$o" ] || [ -L "$o" ] || bad "-o $o $mode: the output was removed"
  done
done
[ -p fifo_out ] && [ -d dir_out ] && [ -L link_out ] || bad "a non-regular output changed type"
cmp -s ref.h5 "$(readlink -f link_out)" || bad "the symbolic link's target changed"

echo "write faults: $cases cases ($fired with the fault fired), $failn failures"
[ $failn -eq 0 ] && echo "1 passed, 0 failed" || echo "0 passed, 1 failed"
exit $((failn > 0))
