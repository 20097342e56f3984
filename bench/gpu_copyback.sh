#!/bin/bash
# cuda backend: wall_time with and without the copy of the final particles to the host (issue 13).
# mog-random K = 64, d = 128, N = 160000, ddpm and rtk-mala, 100 NFE, output.samples = 0, default
# diagnostics; BEFORE (a build that always copies the particles back and takes the linearised standard
# error's sums on the host) vs AFTER (the particles stay on the device: lin_sums), alternated REPS times,
# then the two files are compared (h5check same: identical results).  On the GPU machine after
# `source <bundle>/env.sh`:
#   bash bench/gpu_copyback.sh BEFORE_BIN AFTER_BIN OUTDIR [REPS] [PRECISION]
set -euo pipefail
before=$1 after=$2 out=$3 reps=${4:-3} prec=${5:-fp64}
here=$(cd "$(dirname "$0")" && pwd)
source "$here/gpu_ini.sh"
check=${RTK_H5CHECK:-$here/../tests/h5check.py}
mkdir -p "$out"
{ gpu_peer_ini random 160000; printf '[output]\nsamples = 0\n'; } > "$out/random.ini"
for rep in $(seq "$reps"); do
  for v in before after; do
    bin=$before; [ $v = after ] && bin=$after
    mpirun ${MPI_ARGS:-} -n 1 "$bin" run "$out/random.ini" --set run.backend=cuda --set run.precision=$prec \
      -o "$out/$v$rep.h5" --force > "$out/$v$rep.log" 2>&1 || { cat "$out/$v$rep.log"; exit 1; }
    python3 - "$out/$v$rep.h5" "$v" "$rep" "$prec" <<'PY'
import sys, h5py
f = h5py.File(sys.argv[1], "r")
for rid, g in sorted(f["runs"].items()):
    m = g["metrics"]
    print(f"{sys.argv[2]:6s} rep {sys.argv[3]} {g.attrs['sampler']:8s} {sys.argv[4]} wall_time {float(m['wall_time'][()]):.4f} s"
          f"  accuracy {float(m['marginal_accuracy'][()]):.6f} se {float(m['marginal_accuracy_se'][()]):.3e}")
PY
  done
done
python3 "$check" same "$out/before1.h5" "$out/after1.h5"
