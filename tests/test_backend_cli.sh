#!/bin/bash
# run.backend / run.precision: every refusal is an input error (exit 2) with a message
# that says why, decided at validation (no GPU needed), in builds with and without CUDA.
set -u
bin=$1
here=$(cd "$(dirname "$0")" && pwd)
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0
expect() { # name, exit code, message regex, args...
  local name=$1 code=$2 re=$3
  shift 3
  out=$("$bin" "$@" 2>&1)
  rc=$?
  if [ "$rc" -eq "$code" ] && echo "$out" | grep -qE "$re"; then echo "PASS $name"
  else echo "FAIL $name (exit $rc, want $code /$re/): $out" | head -5; fail=1; fi
}
cuda=$("$bin" validate "$here/gpu.ini" --set run.backend=cuda >/dev/null 2>&1 && echo yes || echo no)
expect fp32-on-cpu 2 'fp32 is implemented on the cuda backend only' validate "$here/gpu.ini" --set run.precision=fp32
expect bad-backend 2 'backend' validate "$here/gpu.ini" --set run.backend=tpu
if [ "$cuda" = yes ]; then
  expect unported-sampler 2 'sampler pmm is not ported to the cuda backend' validate "$here/gpu.ini" \
    --set run.backend=cuda --set run.samplers=ddpm,pmm
  expect unported-unipc 2 'sampler unipc is not ported to the cuda backend' validate "$here/gpu.ini" \
    --set run.backend=cuda --set run.samplers=unipc
  expect heun-churn 2 'heun: s_churn > 0 .* is not ported' validate "$here/gpu.ini" --set run.backend=cuda \
    --set run.samplers=heun --set heun.s_churn=5
  expect trace 2 'output.trace is not available on the cuda backend' validate "$here/gpu.ini" --set run.backend=cuda \
    --set run.samplers=rtk-mala-score --set output.trace=3
  # the score plug-ins run on the device (gpu_score.ini: mlp and perturbed); rtk-mala without an energy is
  # refused with the cpu's message
  expect score-models 0 '' validate "$here/gpu_score.ini" --set run.backend=cuda --set score.file="$here/data/mog_grid_mlp.h5"
  expect score-mala 2 'rtk-mala.*needs the exact energy.*rtk-mala-score' validate "$here/gpu_score.ini" \
    --set run.backend=cuda --set score.file="$here/data/mog_grid_mlp.h5" --set run.samplers=ddpm,rtk-mala
  # gpu.ini sweeps rtk-mala and rtk-mala-score over radius, adaptive steps and the quadrature rules
  expect fp32-cuda-ok 0 '' validate "$here/gpu.ini" --set run.backend=cuda --set run.precision=fp32
  # run.normal = ziggurat runs on the device too (both generators)
  expect zig-cuda-ok 0 '' validate "$here/gpu.ini" --set run.backend=cuda --set run.normal=ziggurat --set run.rng=philox4x32
  if ! nvidia-smi -L 2>/dev/null | grep -q '^GPU'; then
    expect no-gpu 2 'run.backend = cuda: no CUDA device' run "$here/gpu.ini" --set run.backend=cuda -o "$tmp/x.h5"
    [ -e "$tmp/x.h5" ] && { echo "FAIL no-gpu left $tmp/x.h5"; fail=1; }
  fi
else
  expect no-cuda-build 2 'built without the CUDA toolkit' validate "$here/gpu.ini" --set run.backend=cuda
fi
exit $fail
