#!/bin/bash
# Hostile results files: every class of damage hostile.py makes (wrong class,
# rank, shape or size of attributes and datasets, unknown format_version,
# tampered data and checksums, foreign runs) against `info`, `info --json`,
# `info --verify` and `run --resume`.  Nothing may crash or hang; damage to the
# header or to the study is refused with exit 2 and the file left
# byte-identical; damage to a complete run's data is found by its checksum and
# the run is redone, bitwise identical to an undamaged run.
# usage: test_hostile.sh RTKBENCH WORKDIR SRCDIR
set -u
bin=$1 work=$2 src=$3
py=/usr/bin/python3
gen="$src/tests/fault/hostile.py"
cfg="$src/tests/fault/tiny.ini"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
mkdir -p "$work" && cd "$work" || exit 1
rm -f ./*.h5 ./*.h5.lock ./*.h5.tmp
pass=0 failn=0
ok() { pass=$((pass + 1)); }
bad() { echo "FAIL $*"; failn=$((failn + 1)); }
t() { timeout -k 5 60 "$@"; }                 # every invocation is bounded
crashed() { [ "$1" -ge 124 ]; }             # 124 timeout, 128+n signal

t "$bin" run "$cfg" -o good.h5 >good.log 2>&1 || { echo "cannot make the reference file"; cat good.log; exit 1; }
t "$bin" info good.h5 --verify >/dev/null 2>&1 && ok || bad "reference file does not verify"

kind_of() {
  case $1 in
    fv_array|fv_2|fv_string|fv_missing|format_array|format_vlen|runs_array|runs_huge|runs_float_nan|runs_is_dataset) echo header ;;
    run_config_array|run_config_float|extra_run|run_is_dataset|name_escape|study_digest) echo refuse ;;
    status_array|status_long|status_vlen|status_int) echo redo_incomplete ;;
    config_array|nfe_array) echo any ;;
    *) echo redo ;;
  esac
}

for c in $($py "$gen" list); do
  k=$(kind_of "$c")
  f="h_$c.h5"
  $py "$gen" make "$c" good.h5 "$f" || { bad "$c: cannot make"; continue; }
  cp "$f" "$f.orig"
  # (--verify prints the same table as plain info, so it stands for both)
  t "$bin" info "$f" --json >"$f.json" 2>"$f.json.err"; rj=$?
  t "$bin" info "$f" --verify >"$f.verify" 2>&1; rv=$?
  ri=$rj
  crashed $rj && bad "$c: info --json crashed or hung ($rj)" || ok
  crashed $rv && bad "$c: info --verify crashed or hung ($rv)" || ok
  if [ $rj -eq 0 ]; then $py "$gen" json "$f.json" 2>/dev/null && ok || bad "$c: info --json is not valid JSON"; fi
  cmp -s "$f" "$f.orig" && ok || bad "$c: info modified the file"
  t "$bin" run "$cfg" -o "$f" --resume >"$f.resume" 2>&1; rr=$?
  crashed $rr && bad "$c: resume crashed or hung ($rr)" || ok
  case $k in
    header)
      [ $rj -eq 2 ] && [ $rv -eq 2 ] && ok || bad "$c: info --json exit $rj / --verify $rv, expected 2"
      [ $rr -eq 2 ] && cmp -s "$f" "$f.orig" && ok || bad "$c: resume exit $rr (expected 2, file untouched)" ;;
    refuse)
      [ $rr -eq 2 ] && cmp -s "$f" "$f.orig" && ok || bad "$c: resume exit $rr (expected 2, file untouched)" ;;
    redo|redo_incomplete)
      if [ $k = redo ]; then [ $rv -eq 2 ] && ok || bad "$c: info --verify exit $rv, expected 2 (damage not found)"; fi
      [ $rr -eq 0 ] && $py "$src/tests/h5check.py" same good.h5 "$f" >/dev/null 2>&1 && ok \
        || { bad "$c: resume exit $rr or result differs from the undamaged file"; tail -3 "$f.resume"; }
      t "$bin" info "$f" --verify >/dev/null 2>&1 && ok || bad "$c: repaired file does not verify" ;;
    any)
      [ $rr -eq 0 ] || { [ $rr -eq 2 ] && cmp -s "$f" "$f.orig"; } && ok || bad "$c: resume exit $rr" ;;
  esac
done

# whole-study comparison: a reordered or replaced sampler list, another seed
for s in "run.samplers=ddpm,exact" "run.samplers=exact,ddim" "run.seed=2" "run.particles=301" "sweep.seed=1,2"; do
  cp good.h5 study.h5 && cp good.h5 study.orig
  t "$bin" run "$cfg" -o study.h5 --resume --set "$s" >study.log 2>&1; r=$?
  [ $r -eq 2 ] && cmp -s study.h5 study.orig && ok || { bad "resume with --set $s: exit $r (expected 2, file untouched)"; cat study.log; }
done
# a legitimate resume of a complete file changes nothing but succeeds
t "$bin" run "$cfg" -o study.h5 --resume >study.log 2>&1 && cmp -s study.h5 study.orig && ok || bad "resume of a complete file"
# run.memory_check is a safety switch: it may differ on --resume
t "$bin" run "$cfg" -o study.h5 --resume --set run.memory_check=false >study.log 2>&1 && ok || bad "resume with memory_check=false refused"

echo "hostile results files: $pass checks passed, $failn failed"
[ $failn -eq 0 ] && echo "1 passed, 0 failed" || echo "0 passed, 1 failed"
exit $((failn > 0))
