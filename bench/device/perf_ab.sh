#!/bin/bash
# perf profiles of two builds on the lent machine (issue 11, ninth round): rtk-mala at (64, 128), 8192 particles,
# block 256, one rank, each build twice, the top functions by self time (bench/device/e2e_lib.sh, e2e_perf).
#   usage (on the device, repository root): bash bench/device/perf_ab.sh BUNDLE [BIN_A] [BIN_B]
# BUNDLE: a bench/device/pack.sh bundle with BIN_A and BIN_B (default rtkbench and rtkbench-new) in it;
# .device/perf: perf and its libraries but the glibc family (bench/device/README.md).
source "$1/env.sh" >/dev/null 2>&1
source bench/device/e2e_lib.sh
for rep in 1 2; do e2e_perf "${2:-rtkbench}" "${3:-rtkbench-new}"; done
