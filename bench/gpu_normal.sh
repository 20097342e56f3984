#!/bin/bash
# cuda backend: the cost of the normal transform (run.normal = box-muller | ziggurat) under both generators
# (run.rng = philox4x64 | philox4x32), issue 11.  mog-random K = 64, d = 128, N particles (default 2^20),
# ddpm and rtk-mala, 100 NFE, output.samples = 0, no boundary accuracy, no Fréchet floor sets (the
# "g.ini" of docs/performance.md); the four combinations alternated REPS times in one call on one card.
# Rate = N x NFE over the sampling time (the sum of seconds_per_segment, as bench/gpu_e2e.sh).
# On the GPU machine after `source <bundle>/env.sh`:
#   bash bench/gpu_normal.sh OUTDIR [REPS] [N]
# prints one line per run and, per sampler and generator, the ziggurat / box-muller ratio of the mean rates.
set -euo pipefail
out=$1 reps=${2:-2} N=${3:-1048576}
here=$(cd "$(dirname "$0")" && pwd)
source "$here/gpu_ini.sh"
mkdir -p "$out"
bin=${RTK_RT:?source the bundle env.sh first}/bin/rtkbench
export OMPI_MCA_plm=isolated OMPI_MCA_btl_vader_single_copy_mechanism=none
{ gpu_peer_ini random "$N"; printf '[output]\nsamples = 0\n'; } > "$out/g.ini"
for rep in $(seq "$reps"); do
  for rng in philox4x64 philox4x32; do
    for nrm in box-muller ziggurat; do
      f=$out/${rng}_${nrm}_$rep
      mpirun ${MPI_ARGS:-} -n 1 "$bin" run "$out/g.ini" --set run.backend=cuda --set run.rng=$rng \
        --set run.normal=$nrm --set metrics.boundary_accuracy=false -o "$f.h5" --force > "$f.log" 2>&1 ||
        { cat "$f.log"; exit 1; }
    done
  done
done
"${RTK_PYTHON:-python3}" - "$out" <<'PY'
import glob, os, sys, h5py, numpy as np
rate = {}
for path in sorted(glob.glob(os.path.join(sys.argv[1], "philox*_*_*.h5"))):
    rng, nrm, rep = os.path.basename(path)[:-3].split("_")
    with h5py.File(path, "r") as f:
        for g in f["runs"].values():
            m, s = g["metrics"], g.attrs["sampler"]
            s = s.decode() if isinstance(s, bytes) else str(s)
            N, nfe = int(g.attrs["particles"]), float(g.attrs["nfe"])
            r = N * nfe / float(np.sum(m["seconds_per_segment"][()]))
            rate.setdefault((s, rng, nrm), []).append(r)
            print(f"{s:8s} {rng} {nrm:10s} rep {rep}: {r:.4g} particle-NFE/s, "
                  f"accuracy {float(m['marginal_accuracy'][()]):.4f}")
for s in ("ddpm", "rtk-mala"):
    for rng in ("philox4x64", "philox4x32"):
        b, z = rate[(s, rng, "box-muller")], rate[(s, rng, "ziggurat")]
        print(f"{s:8s} {rng}: box-muller {', '.join(f'{x:.4g}' for x in b)}; ziggurat "
              f"{', '.join(f'{x:.4g}' for x in z)}; ziggurat / box-muller (means) {np.mean(z) / np.mean(b):.3f}")
PY
