#!/bin/bash
# The run timers (include/rtk/timers.h, metrics/time_phases):
#  - a run with the fine timers off (RTK_TIMERS=0) gives bitwise the same samples
#    and metrics as one with them on (timing never touches the numbers);
#  - on: score and rng are finite and the ddpm run spends time in both; off: NaN;
#  - the split is consistent with wall_time in both files (h5verify's check), and
#    the run summary prints the split of every run: the mean over ranks with its
#    share outside the score, and the max over ranks, as in the file.
# usage: test_timers.sh RTKBENCH MPIEXEC WORKDIR SRCDIR
set -u
bin=$1 mpiexec=$2 work=$3 src=$4
py=/usr/bin/python3
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
unset RTK_TIMERS
mkdir -p "$work"
source "$src/tests/testlib.sh"
cfg="$src/experiments/quickstart.ini"
small=(--force --set run.particles=1200 --set metrics.frechet=false)
check "timers on: 2-rank run" timeout 120 "$mpiexec" -n 2 --oversubscribe "$bin" run "$cfg" -o "$work/on.h5" "${small[@]}"
cp "$work/check.log" "$work/on.log"
check "timers off (RTK_TIMERS=0): 2-rank run" env RTK_TIMERS=0 timeout 120 "$mpiexec" -n 2 --oversubscribe "$bin" run "$cfg" \
  -o "$work/off.h5" "${small[@]}"
check "on == off bitwise (samples and every non-timing metric)" $py "$src/tests/h5check.py" same "$work/on.h5" "$work/off.h5"
check "h5verify (time_phases consistent with wall_time)" $py "$src/tests/h5verify.py" "$work/on.h5" "$work/off.h5"
check "on: score and rng finite, ddpm spends time in both; off: NaN" $py - "$work/on.h5" "$work/off.h5" <<'PY'
import sys, h5py, numpy as np
on, off = h5py.File(sys.argv[1]), h5py.File(sys.argv[2])
for rid, g in on["runs"].items():
    tp = g["metrics/time_phases"][()]
    assert tp.shape == (2, 6) and np.isfinite(tp).all(), (rid, tp)
    if g.attrs["sampler"] in (b"ddpm", "ddpm"):
        assert tp[0, 0] > 0 and tp[0, 1] > 0, (rid, tp)
    t0 = off["runs"][rid]["metrics/time_phases"][()]
    assert np.isnan(t0[:, :2]).all() and np.isfinite(t0[:, 2:]).all(), (rid, t0)
PY
n=$(awk '/^time split/ {f=1; next} f && /^[0-9]+ / {n++} END {print n + 0}' "$work/on.log")
[ "$n" = 4 ] && ok "the run summary prints a time split row per run" || { ko "summary split rows: $n"; cat "$work/on.log"; }
check "the printed split: mean row = the file's row 1, max row = row 0, 'not score' = 1 - score / sum of the mean" \
  $py - "$work/on.log" "$work/on.h5" <<'PY'
import sys, h5py, numpy as np
lines = open(sys.argv[1]).read().split("time split")[1].splitlines()[2:]
rows = [l.split() for l in lines if l.strip() and not l.startswith("results")]
f = h5py.File(sys.argv[2])
ids = sorted(f["runs"])
assert len(rows) == 2 * len(ids), rows  # 2 ranks: a mean row and a max row per run
for i, rid in enumerate(ids):
    tp = f["runs"][rid]["metrics/time_phases"][()]
    mean, mx = rows[2 * i], rows[2 * i + 1]
    assert mean[0] == str(i) and mx[:3] == ["max", "over", "ranks"], (mean, mx)
    got_mean, got_max = np.array(mean[2:8], float), np.array(mx[3:9], float)
    assert np.all(np.abs(got_mean - tp[1]) <= 0.0005 + 1e-12), (rid, got_mean, tp[1])
    assert np.all(np.abs(got_max - tp[0]) <= 0.0005 + 1e-12), (rid, got_max, tp[0])
    share = 100 * (1 - tp[1][0] / tp[1].sum())
    assert mean[8].endswith("%") and abs(float(mean[8][:-1]) - share) <= 0.05 + 1e-9, (rid, mean[8], share)
    assert mx[9] == "-", mx
PY
summary
