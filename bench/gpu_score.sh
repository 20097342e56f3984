#!/bin/bash
# Score plug-ins on the cuda backend (issue 13): ddpm with score.model = mlp (the network of
# experiments/score_error.ini, tests/data/mog_grid_mlp.h5: mog-grid d = 10, 3 hidden layers of 128, SiLU)
# and score.model = perturbed (64 random features), N particles, 100 NFE: one GPU (1 rank, fp64 and fp32)
# vs the cpu backend on CORES ranks (fp64).  Then the exact model's ddpm and rtk-mala (the gpu_e2e.sh
# configurations: mog-grid d = 10, mog-random K = 64 d = 128) with this build and with BEFORE (another
# rtkbench, e.g. main's before the device score models), alternating, twice, on the same card.
# On the GPU machine after `source <bundle>/env.sh`:
#   bash bench/gpu_score.sh NETWORK OUTDIR [N] [CORES] [BEFORE] [BIN]
# (CORES = 0: no cpu runs; BIN: the rtkbench to measure, default the bundle's; BEFORE = "": no exact runs)
# Rate: N x NFE / wall_time (the run's kernel phase, MPI_Wtime around the sampler on every rank, max);
# "sampling" uses the sum of seconds_per_segment instead (device time of the sampler loop; cpu: the
# slowest rank's segment times).
set -euo pipefail
net=$1 out=$2 N=${3:-160000} cores=${4:-16} before=${5:-} bin=${6:-}
source "$(cd "$(dirname "$0")" && pwd)/gpu_ini.sh"
mkdir -p "$out"
[ -n "$bin" ] || bin=${RTK_RT:?source the bundle env.sh first}/bin/rtkbench
export OMPI_MCA_plm=isolated OMPI_MCA_btl_vader_single_copy_mechanism=none
report() { # label file
  python3 - "$1" "$2" <<'PY'
import sys, h5py, numpy as np
label, path = sys.argv[1], sys.argv[2]
a = lambda g, k: (lambda v: v.decode() if isinstance(v, bytes) else str(v))(g.attrs[k])
with h5py.File(path, "r") as f:
    for rid, g in f["runs"].items():
        m = g["metrics"]; N = int(g.attrs["particles"]); nfe = float(g.attrs["nfe"])
        samp = float(np.sum(m["seconds_per_segment"][()])); wall = float(m["wall_time"][()])
        print(f"{label:14s} {a(g, 'sampler'):8s} score={a(g, 'score'):9s} {a(g, 'backend')} {a(g, 'precision')} "
              f"ranks={int(f.attrs['mpi_ranks'])} N={N} NFE={nfe:.0f}: wall {wall:.3f} s = {N*nfe/wall:.4g} particle-NFE/s, "
              f"sampling {samp:.3f} s = {N*nfe/samp:.4g}; accuracy {float(m['marginal_accuracy'][()]):.4f}")
PY
}
cat > "$out/score.ini" <<INI
[run]
particles = $N
seed = 1
samplers = ddpm
nfe = 100
progress = 0
[target]
kind = mog-grid
dim = 10
[score]
file = $net
error_samples = 2
[metrics]
frechet_sets = 0
INI
for model in mlp perturbed; do
  for prec in fp64 fp32; do
    mpirun -n 1 "$bin" run "$out/score.ini" --set score.model=$model --set run.backend=cuda --set run.precision=$prec \
      -o "$out/${model}_gpu_$prec.h5" --force > "$out/${model}_gpu_$prec.log" 2>&1 || { cat "$out/${model}_gpu_$prec.log"; exit 1; }
    report gpu "$out/${model}_gpu_$prec.h5"
  done
  [ "$cores" = 0 ] && continue
  mpirun -n "$cores" --bind-to core "$bin" run "$out/score.ini" --set score.model=$model -o "$out/${model}_cpu.h5" \
    --force > "$out/${model}_cpu.log" 2>&1 || { cat "$out/${model}_cpu.log"; exit 1; }
  report "cpu-$cores" "$out/${model}_cpu.h5"
done
[ -n "$before" ] || exit 0
for tgt in grid random; do
  gpu_peer_ini $tgt "$N" > "$out/$tgt.ini"
  for prec in fp64 fp32; do
    for rep in 1 2; do
      for which in before after; do
        b=$bin; [ $which = before ] && b=$before
        mpirun -n 1 "$b" run "$out/$tgt.ini" --set run.backend=cuda --set run.precision=$prec \
          -o "$out/${tgt}_${prec}_${which}$rep.h5" --force > "$out/${tgt}_${which}.log" 2>&1 || { cat "$out/${tgt}_${which}.log"; exit 1; }
        report "exact-$which$rep" "$out/${tgt}_${prec}_${which}$rep.h5"
      done
    done
  done
done
