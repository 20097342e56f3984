#!/bin/bash
# Is the 16-rank efficiency lost in rtkbench/MPI or in the machine?  Compare
# one 16-rank run with 16 independent 1-rank processes of 1/16 the size each
# (no MPI communication at all), and with one 1-rank process of that size alone.
set -u
here=$(cd "$(dirname "$0")" && pwd)
cd "${WORKDIR:-$here}"
# studies: heavy.ini and light.ini next to this script
# expects ./rtkbench (and ./lib with its shared libraries when carried to another machine)
export LD_LIBRARY_PATH=$PWD/lib:${LD_LIBRARY_PATH:-}
OUT=${OUT:-$PWD}
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OPENBLAS_NUM_THREADS=1
lscpu | grep -E "^CPU\(s\)|Thread|Core|Socket|Model name" | tee $OUT/cpu.txt
kt() { python3 -c "import h5py; f=h5py.File('$1'); print(f['runs/0000-rtk-mala/metrics/wall_time'][()])"; }
./rtkbench run "$here/heavy.ini" -o one.h5 --force --set run.particles=4096 >/dev/null 2>&1
echo "1 process, N=4096 alone: $(kt one.h5) s" | tee -a $OUT/base.txt
for i in $(seq 0 15); do taskset -c $i ./rtkbench run "$here/heavy.ini" -o p$i.h5 --force --set run.particles=4096 --set run.seed=$((i+1)) >/dev/null 2>&1 & done; wait
for i in 0 7 15; do echo "16 concurrent independent processes, N=4096 each, #$i: $(kt p$i.h5) s" | tee -a $OUT/base.txt; done
mpirun -n 16 --bind-to core ./rtkbench run "$here/heavy.ini" -o m16.h5 --force >/dev/null 2>&1
echo "16 MPI ranks, N=65536: $(kt m16.h5) s" | tee -a $OUT/base.txt
mpirun -n 8 --bind-to core ./rtkbench run "$here/heavy.ini" -o m8.h5 --force --set run.particles=32768 >/dev/null 2>&1
echo "8 MPI ranks, N=32768 (weak): $(kt m8.h5) s" | tee -a $OUT/base.txt
