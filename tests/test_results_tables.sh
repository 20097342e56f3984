#!/bin/bash
# docs.results_tables: the measured tables in the docs against results files made here
# (analysis/results_tables.py check), and the check itself against a changed digit.
#   - README's quick-start table against mpi.quickstart's file (QS, the fixture)
#   - docs/results.md's 3M published-vs-taylor table against 8 runs of experiments/solvers.ini
#     (dpm-solver++ order 3, karras grid, 10 and 20 NFE; runs depend only on their own keys)
#   - both checks must fail (exit 1) on a copy of the docs with one digit changed
# usage: test_results_tables.sh RTKBENCH MPIEXEC SRCDIR WORKDIR QS.h5
set -u
RTK=$1 MPIEXEC=$2 SRC=$3 W=$4 QS=$5
PY=/usr/bin/python3
T="$PY $SRC/analysis/results_tables.py"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
rm -rf "$W" && mkdir -p "$W" || exit 1
fail() { echo "FAIL: $*"; exit 1; }
[ -f "$QS" ] || fail "no quickstart file $QS (the mpi.quickstart fixture)"
$T check quickstart "$QS" || fail "README quick-start table differs from $QS"
S="--set run.samplers=dpm-solver++ --set sweep.dpm-solver++.order=3 --set sweep.time.grid=karras --set sweep.nfe=10,20 --set output.samples=0 --set run.progress=0"
# shellcheck disable=SC2086
"$MPIEXEC" -n 2 --oversubscribe "$RTK" run "$SRC/experiments/solvers.ini" -o "$W/s3m.h5" --force $S > "$W/s3m.log" 2>&1 || fail "solvers 3M run"
# shellcheck disable=SC2086
"$MPIEXEC" -n 2 --oversubscribe "$RTK" run "$SRC/experiments/solvers.ini" -o "$W/s3t.h5" --force $S \
  --set dpm-solver++.variant=taylor > "$W/s3t.log" 2>&1 || fail "solvers taylor run"
ONLY="On the karras grid at 10–20 NFE"
$T check solvers "main=$W/s3m.h5" "taylor=$W/s3t.h5" --only "$ONLY" || fail "docs/results.md's taylor table differs"
# the check can fail: one digit changed in a copy of each document
$PY - "$SRC" "$W" <<'PYEOF' || fail "could not make the mutated copies"
import re, sys
src, w = sys.argv[1], sys.argv[2]
readme = open(f"{src}/README.md", encoding="utf-8").read()
m = re.search(r"^\| 3   \| rtk-mala .*$", readme, re.M)
line = m.group(0)
# the row's first four-decimal number (its accuracy) with its last digit changed; the changed number goes to
# mut1.want for the grep below
m = re.search(r"\b(\d\.\d{3})(\d)\b", line)
bad_num = m.group(1) + str((int(m.group(2)) + 1) % 10)
bad = line[:m.start()] + bad_num + line[m.end():]
assert bad != line, line
open(f"{w}/mut1.want", "w").write(bad_num)
open(f"{w}/README.md", "w", encoding="utf-8").write(readme.replace(line, bad, 1))
doc = open(f"{src}/docs/results.md", encoding="utf-8").read()
m = re.search(r"^\| SDE, 20 NFE \| .*$", doc, re.M)
line = m.group(0)
bad = re.sub(r"(\d)(\s*\|\s*$)", lambda x: str((int(x.group(1)) + 1) % 10) + x.group(2), line)
assert bad != line, line
open(f"{w}/results.md", "w", encoding="utf-8").write(doc.replace(line, bad, 1))
PYEOF
$T check quickstart "$QS" --doc "$W/README.md" > "$W/mut1.txt"; rc=$?
[ $rc -eq 1 ] && grep -qF "$(cat "$W/mut1.want")" "$W/mut1.txt" || { cat "$W/mut1.txt"; fail "a changed digit in README's table was not reported (rc $rc)"; }
$T check solvers "main=$W/s3m.h5" "taylor=$W/s3t.h5" --only "$ONLY" --doc "$W/results.md" > "$W/mut2.txt"; rc=$?
[ $rc -eq 1 ] && grep -q "SDE, 20 NFE" "$W/mut2.txt" || { cat "$W/mut2.txt"; fail "a changed digit in results.md's table was not reported (rc $rc)"; }
echo "docs.results_tables: README quick start and results.md's taylor table match their files; changed digits are reported"
