#!/bin/bash
# Fresh Debian machine -> the quickstart study: install dependencies, build,
# run experiments/quickstart.ini on 2 MPI ranks, print the results table.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup-debian.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j"$(nproc)" >/dev/null
# Open MPI refuses to run as root unless told (containers, CI)
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
mpirun -n 2 build/rtkbench run experiments/quickstart.ini --force
build/rtkbench info results/quickstart.h5
