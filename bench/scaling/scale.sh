#!/bin/bash
# strong and weak scaling of rtkbench on the device machine (16 cores)
set -u
here=$(cd "$(dirname "$0")" && pwd)
cd "${WORKDIR:-$here}"
# studies: heavy.ini and light.ini next to this script
# expects ./rtkbench (and ./lib with its shared libraries when carried to another machine)
export LD_LIBRARY_PATH=$PWD/lib:${LD_LIBRARY_PATH:-}
OUT=${OUT:-$PWD}
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OPENBLAS_NUM_THREADS=1
./rtkbench --version || { ldd ./rtkbench; exit 1; }
for study in heavy light; do
  for n in 1 2 4 8 16; do
    for mode in strong weak; do
      [ $mode = weak ] && [ $n = 1 ] && continue
      sets=""
      if [ $mode = weak ]; then
        base=$(grep '^particles' "$here/$study.ini" | awk '{print $3}'); sets="--set run.particles=$((base * n))"
      fi
      rm -f out.h5
      t0=$(date +%s.%N)
      mpirun -n $n --bind-to core ./rtkbench run "$here/$study.ini" -o out.h5 --force $sets > log.txt 2>&1 || { cat log.txt; exit 1; }
      t1=$(date +%s.%N)
      k=$(python3 -c "import h5py; f=h5py.File('out.h5'); g=f['runs/0000-rtk-mala']; print(g['metrics/wall_time'][()], g['metrics/marginal_accuracy'][()], g.attrs['particles'])")
      echo "$study $mode ranks=$n total_s=$(echo "$t1 - $t0" | bc) kernel_s/acc/N= $k" | tee -a $OUT/scaling.txt

    done
  done
done
