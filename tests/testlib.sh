# Shared helpers of the shell tests (source it after setting $work):
#   ok NAME / ko NAME        count a passed / failed check and print it
#   check NAME CMD...        run CMD (output to $work/check.log): ok if it succeeds, else ko and show the log
#   summary                  print 'N passed, M failed' (read by CTest's log readers); returns 0 iff none failed
pass=0 fail=0
ok() { echo "PASS: $1"; pass=$((pass + 1)); }
ko() { echo "FAIL: $1"; fail=$((fail + 1)); }
check() { # name command...
  local name=$1
  shift
  if "$@" >"$work/check.log" 2>&1; then ok "$name"; else ko "$name"; cat "$work/check.log"; fi
}
summary() {
  echo "$pass passed, $fail failed"
  [ "$fail" = 0 ]
}
