#!/bin/bash
# Fresh Debian machine -> the whole test suite: install dependencies, build
# with warnings as errors (gcc), run CTest (including the reliability tests:
# write faults with ROMIO and OMPIO, kill -9, kills inside flushes, hostile
# files, limits, locks, signals, test-hook failures); then a clang build, a
# build against BLIS (-DRTK_BLAS=blis), an ASan/UBSan build running the
# numerical-core tests and the rollback journal's unit test (label sanitize), and the
# libFuzzer harnesses for a bounded time (RTK_FUZZ_SECONDS each, default 30).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup-debian.sh
jobs=$(nproc)
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1

echo "== gcc build (-Werror) and full test suite"
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DCMAKE_C_COMPILER=gcc -DRTK_WERROR=ON >/dev/null
cmake --build build -j"$jobs" >/dev/null
(cd build && ctest --output-on-failure -j"$jobs")

echo "== clang build (-Werror)"
cmake -S . -B build-clang -DCMAKE_BUILD_TYPE=Release -DCMAKE_C_COMPILER=clang -DRTK_WERROR=ON >/dev/null
cmake --build build-clang -j"$jobs" >/dev/null

echo "== BLIS build (-DRTK_BLAS=blis): the kernel benchmark's check and a 2-rank run that names BLIS"
cmake -S . -B build-blis -DCMAKE_BUILD_TYPE=Release -DRTK_BLAS=blis -DRTK_WERROR=ON >/dev/null
cmake --build build-blis -j"$jobs" --target rtkbench rtk_bench_kernel >/dev/null
build-blis/rtk_bench_kernel --quick >/dev/null
mpiexec -n 2 --oversubscribe build-blis/rtkbench run experiments/quickstart.ini -o build-blis/quickstart.h5 --force \
  --set run.particles=2000 >/dev/null
build-blis/rtkbench info build-blis/quickstart.h5 | grep -q '^BLAS: BLIS ' || { echo "BLIS build: the file does not name BLIS"; exit 1; }

echo "== ASan/UBSan build: numerical-core tests and the rollback journal's unit test"
cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DRTK_SANITIZE=ON >/dev/null
cmake --build build-asan -j"$jobs" --target test_core test_score test_frechet test_vmath test_fors test_journal >/dev/null
(cd build-asan && ctest --output-on-failure -j"$jobs" -L sanitize)

echo "== libFuzzer harnesses (clang, ASan/UBSan): seed corpora, then ${RTK_FUZZ_SECONDS:-30} s each"
cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=Debug -DCMAKE_C_COMPILER=clang -DRTK_FUZZ=ON -DRTK_WERROR=ON \
      -DRTK_FUZZ_SECONDS="${RTK_FUZZ_SECONDS:-30}" >/dev/null
cmake --build build-fuzz -j"$jobs" --target fuzz_config fuzz_results >/dev/null
(cd build-fuzz && ctest --output-on-failure -L fuzz)
