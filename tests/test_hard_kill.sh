#!/bin/bash
# --resume after a hard kill (SIGKILL, node failure).  SIGTERM stops a run
# before its group exists, so tests/test_resume.sh never meets what a hard kill
# leaves: a run group with status "running".  The crashed files are made from
# an uninterrupted study with h5py (deterministic, no race):
#   A  killed while writing run 2: its status is "running" and its metrics
#      group is missing; runs 3 and 4 were never started (no groups);
#   B  killed between the two flushes of the last run: everything written but
#      status is still "running" (its samples are altered here, so a kept run
#      would show);
#   C  a run with intact data and checksum whose status holds something
#      other than "complete" or "running" ("aborted");
#   D  a run whose data and checksum are intact but whose status is still
#      "running": the status alone must make --resume redo it.
# Each is resumed (another rank count each time): the unfinished runs are
# redone and the file equals the uninterrupted one bitwise (timings aside),
# it verifies independently (tests/h5verify.py), and the summary table
# printed after the resume equals `rtkbench info` of the same file, row by
# row (as does the summary of the uninterrupted study).
# usage: test_hard_kill.sh RTKBENCH MPIEXEC WORKDIR SRCDIR
set -u
bin=$1 mpiexec=$2 work=$3 src=$4
py=/usr/bin/python3
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
mkdir -p "$work"
rm -f "$work"/*.h5 "$work"/*.json
fail=0
ok() { echo "PASS $1"; }
bad() { echo "FAIL $1"; fail=1; }
cfg="$src/tests/mog_random.ini"
summary_is_info() { # file log
  "$bin" info "$1" --json >"$1.json" && "$bin" info "$1" >"$1.txt" || { bad "info $1"; return; }
  $py "$src/tests/h5verify.py" summary "$1" "$2" "$1.json" "$1.txt" && ok "summary of $(basename "$2") == rtkbench info" \
    || { bad "summary of $(basename "$2") differs from rtkbench info"; cat "$2"; }
}

timeout 300 "$mpiexec" -n 3 --oversubscribe "$bin" run "$cfg" -o "$work/full.h5" >"$work/full.log" 2>&1 \
  && ok "uninterrupted study" || { bad "uninterrupted study"; cat "$work/full.log"; }
summary_is_info "$work/full.h5" "$work/full.log"

for c in A B C D; do cp "$work/full.h5" "$work/$c.h5"; done
$py - "$work" <<'PY' && ok "crashed files made" || bad "making the crashed files"
import sys, h5py, numpy as np
w = sys.argv[1]
def status(g, v):
    g.attrs.create("status", np.array(v.encode(), dtype="S16"))
with h5py.File(f"{w}/A.h5", "r+") as f:
    r = f["runs"]
    status(r["0002-rtk-mala"], "running")
    del r["0002-rtk-mala/metrics"]
    del r["0003-rtk-uld"], r["0004-pmm"]
with h5py.File(f"{w}/B.h5", "r+") as f:
    g = f["runs/0004-pmm"]
    status(g, "running")
    g["samples"][0, 0] += 1.0
    g["metrics/marginal_accuracy"][...] = 0.5
with h5py.File(f"{w}/C.h5", "r+") as f:
    status(f["runs/0001-ddpm"], "aborted")
with h5py.File(f"{w}/D.h5", "r+") as f:
    status(f["runs/0003-rtk-uld"], "running")
PY

resume() { # file ranks expected-complete
  timeout 300 "$mpiexec" -n "$2" --oversubscribe "$bin" run "$cfg" -o "$work/$1.h5" --resume >"$work/$1.log" 2>&1 \
    && ok "$1: resume on $2 ranks exits 0" || { bad "$1: resume"; cat "$work/$1.log"; }
  grep -q "resumed: $3 of 5 runs were already complete" "$work/$1.log" && ok "$1: $3 complete runs kept" \
    || { bad "$1: expected $3 complete runs kept"; cat "$work/$1.log"; }
  $py "$src/tests/h5check.py" same "$work/full.h5" "$work/$1.h5" && ok "$1: resumed == uninterrupted (bitwise)" \
    || bad "$1: resumed file differs from the uninterrupted one"
  $py "$src/tests/h5check.py" contract "$work/$1.h5" >/dev/null && ok "$1: every run complete, contract holds" \
    || bad "$1: contract (a run left unfinished?)"
  $py "$src/tests/h5verify.py" "$work/$1.h5" >/dev/null && ok "$1: verifies" || bad "$1: h5verify"
  summary_is_info "$work/$1.h5" "$work/$1.log"
}
resume A 2 2
resume B 1 4
resume C 3 4
resume D 2 4
echo "$([ $fail = 0 ] && echo '1 passed, 0 failed' || echo '0 passed, 1 failed')"
exit $fail
