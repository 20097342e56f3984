#!/bin/bash
# cuda backend over 1, 2, 4 GPUs of one node (one MPI rank per GPU), after `source <bundle>/env.sh`:
#   bash bench/gpu_scaling.sh OUTDIR [NGPUS...]        (default: 1 2 4)
# weak: N = 160000 per GPU; strong: N = 640000 in total; ddpm and rtk-mala, mog-random K = 64 d = 128,
# fp64, 100 NFE.  Time = the sum over segments of the slowest rank's device seconds (seconds_per_segment is
# reduced by MAX); wall_time is printed too.  The strong-scaling files are compared bitwise (h5check same).
set -euo pipefail
out=$1
shift
gpus=${*:-1 2 4}
here=$(cd "$(dirname "$0")" && pwd)
bin=${RTK_RT:?source the bundle env.sh first}/bin/rtkbench
mkdir -p "$out"
cat > "$out/scal.ini" <<INI
[run]
samplers = ddpm, rtk-mala
nfe = 100
progress = 0
[target]
kind = mog-random
dim = 128
K = 64
[metrics]
; the device loop is what scales; the cpu diagnostics of the final particles are left out
frechet = false
slices = 0
moments = false
boundary_accuracy = false
INI
for g in $gpus; do
  for mode in weak strong; do
    N=$([ $mode = weak ] && echo $((160000 * g)) || echo 640000)
    mpirun -n "$g" --mca plm isolated --mca btl_vader_single_copy_mechanism none "$bin" run "$out/scal.ini" \
      --set run.backend=cuda --set run.particles=$N -o "$out/${mode}_$g.h5" --force >/dev/null 2>"$out/${mode}_$g.log"
    python3 - "$out/${mode}_$g.h5" "$mode" "$g" <<'PY'
import sys, h5py, numpy as np
f = h5py.File(sys.argv[1], "r")
for rid, g in f["runs"].items():
    m = g["metrics"]; N = int(g.attrs["particles"]); nfe = float(g.attrs["nfe"])
    samp = float(np.sum(m["seconds_per_segment"][()])); wall = float(m["wall_time"][()])
    s = g.attrs["sampler"]; s = s.decode() if isinstance(s, bytes) else s
    print(f"scaling {sys.argv[2]:6s} gpus={sys.argv[3]} {s:8s} N={N}: device {samp:.4f} s = {N*nfe/samp:.4g} "
          f"particle-NFE/s, wall {wall:.3f} s, accuracy {float(m['marginal_accuracy'][()]):.4f}")
PY
  done
done
set -- $gpus
first=$1
for g in $gpus; do
  [ "$g" = "$first" ] && continue
  python3 "$here/../tests/h5check.py" same "$out/strong_$first.h5" "$out/strong_$g.h5" && echo "strong $first vs $g GPUs: bitwise identical"
done
