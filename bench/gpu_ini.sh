# shellcheck shell=bash
# Sourced by the cuda bench scripts: the configuration of the comparison with the PyTorch peer
# (../shared/peers/peer_torch_e2e.py), written once.
#   gpu_peer_ini grid|random N   prints the study: N particles, seed 1, ddpm and rtk-mala, 100 NFE, no progress
#                                lines; mog-grid d = 10 or mog-random K = 64, d = 128; no Fréchet floor sets
gpu_peer_ini() {
  cat <<INI
[run]
particles = $2
seed = 1
samplers = ddpm, rtk-mala
nfe = 100
progress = 0
[target]
$( [ "$1" = grid ] && printf 'kind = mog-grid\ndim = 10\n' || printf 'kind = mog-random\ndim = 128\nK = 64\n' )
[metrics]
frechet_sets = 0
INI
}
