#!/bin/bash
# cuda backend end to end vs the PyTorch peer script on the same card (issue 13):
# N = 160000, 100 NFE, ddpm and rtk-mala, mog-grid d = 10 and mog-random K = 64 d = 128,
# fp64 and fp32.  Run on the GPU machine after `source <bundle>/env.sh`:
#   bash bench/gpu_e2e.sh PEER_SCRIPT OUTDIR [N]
# rtkbench's rate is N x NFE over its sampling time (the sum of seconds_per_segment: the
# device loop, synchronised at each grid time, as the peer times its loop); wall_time
# (the kernel phase: sampling plus the copy back and the final-sample diagnostics) is printed too.
set -euo pipefail
peer=$1 out=$2 N=${3:-160000}
here=$(cd "$(dirname "$0")" && pwd)
source "$here/gpu_ini.sh"
mkdir -p "$out"
bin=${RTK_RT:?source the bundle env.sh first}/bin/rtkbench
export OMPI_MCA_plm=isolated OMPI_MCA_btl_vader_single_copy_mechanism=none
for tgt in grid random; do
  gpu_peer_ini $tgt "$N" > "$out/$tgt.ini"
  for prec in fp64 fp32; do
    "$bin" run "$out/$tgt.ini" --set run.backend=cuda --set run.precision=$prec -o "$out/${tgt}_$prec.h5" --force \
      > "$out/${tgt}_$prec.log" 2>&1 || { cat "$out/${tgt}_$prec.log"; exit 1; }
    python3 - "$out/${tgt}_$prec.h5" "$prec" <<'PY'
import sys, h5py, numpy as np
f = h5py.File(sys.argv[1], "r")
for rid, g in f["runs"].items():
    m = g["metrics"]; N = int(g.attrs["particles"]); nfe = float(g.attrs["nfe"])
    samp = float(np.sum(m["seconds_per_segment"][()])); wall = float(m["wall_time"][()])
    acc = float(m["acceptance_overall"][()])
    print(f"rtkbench-cuda {g.attrs['sampler']:8s} {sys.argv[2]} K={f['target/means'].shape[0]} d={g.attrs['dim']} N={N} "
          f"NFE={nfe:.0f}: sampling {samp:.3f} s = {N*nfe/samp:.4g} particle-NFE/s (wall {wall:.3f} s = "
          f"{N*nfe/wall:.4g}), accuracy {float(m['marginal_accuracy'][()]):.4f}" + (f", accept {acc:.3f}" if acc == acc else ""))
PY
  done
  python3 "$peer" "$out/${tgt}_fp64.h5" "$N" 100 ddpm:cuda:float64 rtk-mala:cuda:float64 ddpm:cuda:float32 rtk-mala:cuda:float32
done
