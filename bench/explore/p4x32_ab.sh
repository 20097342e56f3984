#!/bin/bash
# A/B of the Philox4x32 draws of two rtkcore builds on a shared machine: builds bench/explore/p4x32_ab.c
# against each librtkcore.a, runs the two binaries alternately REPS times and prints each cell's minimum
# (ns per value) and the ratio B/A.  N64 (Philox4x64, unchanged by such a comparison) shows the noise.
#   usage: bash bench/explore/p4x32_ab.sh A/librtkcore.a B/librtkcore.a [REPS=8]
set -euo pipefail
a=$1; b=$2; reps=${3:-8}
here=$(cd "$(dirname "$0")/../.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for x in a b; do
  lib=$a; [ $x = b ] && lib=$b
  cc -O2 -I"$here/include" "$here/bench/explore/p4x32_ab.c" "$lib" -lsleef -lm -o "$tmp/ab_$x"
done
for r in $(seq "$reps"); do "$tmp/ab_a" > "$tmp/a.$r"; "$tmp/ab_b" > "$tmp/b.$r"; done
python3 - "$tmp" "$reps" <<'PY'
import re, sys
tmp, reps = sys.argv[1], int(sys.argv[2])
def best(x):
    b = {}
    for r in range(1, reps + 1):
        for line in open(f"{tmp}/{x}.{r}"):
            isa, d = line.split()[0], re.search(r"d=\s*(\d+)", line).group(1)
            for k, v in re.findall(r"(U32|N32|Z32|N64)\s+([\d.]+)", line):
                b[(isa, int(d), k)] = min(b.get((isa, int(d), k), 1e9), float(v))
    return b
A, B = best("a"), best("b")
print(f"# min of {reps} alternated runs, ns per value")
for key in A:
    print(f"{key[0]:8s} d={key[1]:5d} {key[2]}  A {A[key]:6.3f}  B {B[key]:6.3f}  B/A {B[key] / A[key]:.3f}")
PY
