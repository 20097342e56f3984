#!/bin/bash
# Replay the committed seed corpus, then fuzz for SECONDS; any crash, leak,
# sanitizer report or per-input timeout fails.  The committed corpus is only
# read (new inputs go to WORKDIR/corpus; a crashing input to WORKDIR).
# usage: run_fuzz.sh FUZZER SEED_CORPUS WORKDIR SECONDS
set -u
fuzzer=$1 seeds=$2 work=$3 secs=$4
rm -rf "$work" && mkdir -p "$work/corpus" || exit 1
cd "$work" || exit 1
common=(-timeout=10 -rss_limit_mb=2048 -max_len=8192 -print_final_stats=1)
# 1. every seed, once
"$fuzzer" "${common[@]}" -runs=0 "$seeds" >replay.log 2>&1 || { echo "FAIL: a seed input fails"; tail -40 replay.log; exit 1; }
# 2. bounded fuzzing from the seeds (fixed seed: reproducible in CI)
"$fuzzer" "${common[@]}" -seed=1 -max_total_time="$secs" -artifact_prefix="$work/" corpus "$seeds" >fuzz.log 2>&1
rc=$?
grep -E "^stat::number_of_executed_units|^#[0-9]+.*DONE" fuzz.log | tail -2
if [ $rc -ne 0 ] || ls "$work"/crash-* "$work"/leak-* "$work"/timeout-* "$work"/oom-* >/dev/null 2>&1; then
  echo "FAIL: the fuzzer found a failing input (exit $rc)"
  grep -E "ERROR|SUMMARY|runtime error|==[0-9]+==" fuzz.log | head -20
  tail -60 fuzz.log
  exit 1
fi
echo "1 passed, 0 failed"
