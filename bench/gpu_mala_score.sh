#!/bin/bash
# rtk-mala-score on the cuda backend (issue 13): fp64 vs fp32 vs the cpu backend, N particles, 100 NFE,
# mog-grid d = 10 and mog-random K = 64 d = 128; rtk-mala-score with the trapezoid (+0 NFE) and Simpson
# (+1 NFE per proposal) rules, rtk-mala (exact energy) beside them; ddpm runs first in each process (it
# pays the CUDA/cuBLAS warm-up).  On the GPU machine after `source <bundle>/env.sh`:
#   bash bench/gpu_mala_score.sh OUTDIR [N] [CPU_RANKS] [TARGETS]
# TARGETS: words among grid (mog-grid d = 10), random (mog-random K = 64 d = 128) and randomD (mog-random
# K = 64, d = D, e.g. random1024); default "grid random".
# RTK_BEFORE=NAME (a second rtkbench in $RTK_RT/bin, e.g. bundled with pack.sh's RTK_EXTRA_BINS) also runs
# ddpm and rtk-mala with that build on the cuda backend, fp64 and fp32, in the same call.
# Prints one line per run: sampling time (the sum of seconds_per_segment; on the cpu, the slowest rank's),
# particle-NFE/s over it, wall_time, marginal accuracy, acceptance.  The cpu runs (CPU_RANKS ranks, default
# 16; 0 = none) do the trapezoid rule only.
set -euo pipefail
out=$1 N=${2:-160000} R=${3:-16} targets=${4:-grid random}
mkdir -p "$out"
bin=${RTK_RT:?source the bundle env.sh first}/bin/rtkbench
export OMPI_MCA_plm=isolated OMPI_MCA_btl_vader_single_copy_mechanism=none
mpi=(mpirun --oversubscribe --bind-to core --mca plm isolated --mca btl_vader_single_copy_mechanism none)
for tgt in $targets; do
  case $tgt in
    grid) tsec=$'kind = mog-grid\ndim = 10' ;;
    random) tsec=$'kind = mog-random\ndim = 128\nK = 64' ;;
    random[0-9]*) tsec=$'kind = mog-random\nK = 64\ndim = '${tgt#random} ;;
    *) echo "gpu_mala_score.sh: unknown target $tgt" >&2; exit 2 ;;
  esac
  cat > "$out/$tgt.ini" <<INI
[run]
particles = $N
seed = 1
samplers = ddpm, rtk-mala, rtk-mala-score
nfe = 100
progress = 0
[target]
$tsec
[metrics]
frechet_sets = 0
[sweep]
rtk-mala-score.quad = trapezoid, simpson
INI
  runs=("cuda fp64" "cuda fp32")
  [ -n "${RTK_BEFORE:-}" ] && runs+=("cuda fp64 $RTK_BEFORE" "cuda fp32 $RTK_BEFORE")
  [ "$R" -gt 0 ] && runs+=("cpu fp64")
  for r in "${runs[@]}"; do
    set -- $r
    extra=() b=$bin tag=$1_$2 label=$1
    [ "$1" = cpu ] && extra=(--set run.samplers=rtk-mala-score --set sweep.rtk-mala-score.quad=trapezoid)
    [ $# -gt 2 ] && { b=$RTK_RT/bin/$3 tag=$1_$2_$3 label=$3; extra=(--set run.samplers=ddpm,rtk-mala); }
    n=1
    [ "$1" = cpu ] && n=$R
    "${mpi[@]}" -n $n "$b" run "$out/$tgt.ini" --set run.backend=$1 --set run.precision=$2 "${extra[@]}" \
      -o "$out/${tgt}_$tag.h5" --force > "$out/${tgt}_$tag.log" 2>&1 || { cat "$out/${tgt}_$tag.log"; exit 1; }
    "${RTK_PYTHON:-python3}" - "$out/${tgt}_$tag.h5" "$label" "$2" <<'PY'
import sys, h5py, numpy as np
f = h5py.File(sys.argv[1], "r")
for rid, g in f["runs"].items():
    m = g["metrics"]; N = int(g.attrs["particles"]); nfe = float(g.attrs["nfe"])
    samp = float(np.sum(m["seconds_per_segment"][()])); wall = float(m["wall_time"][()])
    dec = lambda v: v.decode() if isinstance(v, bytes) else v
    sw, sampler = dec(g.attrs["sweep"]), dec(g.attrs["sampler"])
    quad = sw.split("=")[-1] if "quad" in sw else "-"
    print(f"{sys.argv[2]:4s} {sys.argv[3]} {sampler:14s} {quad:9s} K={f['target/means'].shape[0]} "
          f"d={g.attrs['dim']} N={N} NFE={nfe:.2f}: sampling {samp:.3f} s = {N*nfe/samp:.4g} particle-NFE/s, "
          f"wall {wall:.3f} s, accuracy {float(m['marginal_accuracy'][()]):.4f} "
          f"(se {float(m['marginal_accuracy_se'][()]):.4f}), accept {float(m['acceptance_overall'][()]):.4f}")
PY
  done
  [ "$R" -gt 0 ] || continue
  # sample by sample: the share of particles whose final state is the same on both backends (the chains
  # use the same Philox streams; they part where a Metropolis decision differs)
  "${RTK_PYTHON:-python3}" - "$out/${tgt}_cpu_fp64.h5" "$out/${tgt}_cuda_fp64.h5" <<'PY'
import sys, h5py, numpy as np
def find(f):
    for rid, g in f["runs"].items():
        sw = g.attrs["sweep"]; sw = sw.decode() if isinstance(sw, bytes) else sw
        if "rtk-mala-score" in rid and sw.endswith("trapezoid"):
            return g["samples"][()]
with h5py.File(sys.argv[1], "r") as a, h5py.File(sys.argv[2], "r") as b:
    xa, xb = find(a), find(b)
dev = np.max(np.abs(xa - xb), axis=1) / (1 + np.max(np.abs(xa)))
print(f"cpu vs cuda fp64, rtk-mala-score trapezoid: {np.mean(dev <= 1e-6):.4f} of the particles agree to 1e-6 "
      f"(median deviation {np.median(dev):.2g})")
PY
done
