#!/bin/bash
# device: run experiments/dim_scaling.ini on 16 ranks into $OUT/$NAME.h5, with
# the extra --set options in $EXTRA; SIGTERM the ranks at $WATCH s (a clean,
# resumable stop).  A $NAME.h5.xz next to this script is resumed.
cd "$(dirname "$0")"
NAME=${NAME:-dim_scaling}
export LD_LIBRARY_PATH=$PWD/lib OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OPENBLAS_NUM_THREADS=1
lscpu | grep -E "^CPU\(s\)|Model name" > $OUT/cpu.txt
if [ -f $NAME.h5.xz ]; then
  { xz -dc $NAME.h5.xz || python3 -c 'import lzma,sys,shutil; shutil.copyfileobj(lzma.open(sys.argv[1]), open(sys.argv[2],"wb"))' $NAME.h5.xz /dev/stdout; } > $OUT/$NAME.h5 && R=--resume
  ls -la $OUT/$NAME.h5
fi
start=$(date +%s)
mpirun -n 16 --bind-to core ./rtkbench run dim_scaling.ini -o $OUT/$NAME.h5 ${R:-} --set output.samples=0 --set run.progress=20 ${EXTRA:-} > $OUT/log.txt 2>&1 &
pid=$!
( sleep ${WATCH:-530}; pkill -TERM -f "^\./rtkbench run dim_scaling" ) &
wd=$!
wait $pid; echo "rc=$? after $(( $(date +%s) - start )) s" >> $OUT/log.txt
kill $wd 2>/dev/null
tail -40 $OUT/log.txt
{ xz -T16 -6 $OUT/$NAME.h5 || gzip -1 $OUT/$NAME.h5; }; ls -la $OUT
