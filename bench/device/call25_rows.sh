#!/bin/bash
# lead, device call 25 (issue 11, tenth round): rtk-mala's row pass alone on the lent Intel, 4 rows in AVX2 lanes
# (the product's) against 8 rows in AVX-512F lanes (bench/explore/mala_row.c, here only), for 16 rows (in cache) and
# 128 rows (rtk-mala's sub-block), 3 repetitions of 3 timings each.  Build here (no bundle: libm only):
#   mkdir -p .device/mr && for n in 16 128; do gcc -std=c17 -O3 -ffp-contract=off -D_DEFAULT_SOURCE -DN=$n \
#     bench/explore/mala_row.c -o .device/mr/mala_row$n -lm; done
# On the device: bash bench/device/call25_rows.sh (carry .device/mr)
lscpu | grep -E 'Model name'
for r in 1 2 3; do for n in 16 128; do
  echo "== N=$n rep $r"
  .device/mr/mala_row$n | grep -E "^(row_avx2|rows4_avx2|rows8_avx512f|row_avx512f) "
done; done
