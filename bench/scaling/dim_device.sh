#!/bin/bash
# device: run experiments/dim_scaling.ini on 16 ranks into $OUT/$NAME.h5, with
# the extra --set options in $EXTRA; SIGTERM the run at $WATCH s (a clean,
# resumable stop: mpirun forwards the signal to the ranks).  A $NAME.h5.xz next
# to this script is resumed.  RTKBENCH, MPIRUN, MPI_ARGS, OUT: bench/scaling/common.sh.
here=$(cd "$(dirname "$0")" && pwd)
cd "$here"
source "$here/common.sh"
NAME=${NAME:-dim_scaling}
lscpu | grep -E "^CPU\(s\)|Model name" > "$OUT/cpu.txt"
if [ -f "$NAME.h5.xz" ]; then
  { xz -dc "$NAME.h5.xz" || python3 -c 'import lzma,sys,shutil; shutil.copyfileobj(lzma.open(sys.argv[1]), open(sys.argv[2],"wb"))' "$NAME.h5.xz" /dev/stdout; } > "$OUT/$NAME.h5" && R=--resume
  ls -la "$OUT/$NAME.h5"
fi
cfg=dim_scaling.ini
[ -f "$cfg" ] || cfg=$here/../../experiments/dim_scaling.ini
start=$(date +%s)
# shellcheck disable=SC2086
"$MPIRUN" -n 16 $MPI_ARGS "$RTKBENCH" run "$cfg" -o "$OUT/$NAME.h5" ${R:-} --set output.samples=0 --set run.progress=20 ${EXTRA:-} > "$OUT/log.txt" 2>&1 &
pid=$!
( sleep "${WATCH:-530}"; kill -TERM "$pid" ) &
wd=$!
wait $pid; echo "rc=$? after $(( $(date +%s) - start )) s" >> "$OUT/log.txt"
kill $wd 2>/dev/null
tail -40 "$OUT/log.txt"
{ xz -T16 -6 "$OUT/$NAME.h5" || gzip -1 "$OUT/$NAME.h5"; }; ls -la "$OUT"
