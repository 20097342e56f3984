#!/bin/bash
# Bitwise reproducibility across rank counts and block sizes, and the HDF5
# contract.  usage: test_repro.sh RTKBENCH MPIEXEC WORKDIR SRCDIR
set -u
bin=$1 mpiexec=$2 work=$3 src=$4
py=/usr/bin/python3
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
mkdir -p "$work"
fail=0
run() { # ranks out [extra args]
  local n=$1 out=$2
  shift 2
  if ! timeout 300 "$mpiexec" -n "$n" --oversubscribe "$bin" run "$src/tests/repro.ini" -o "$out" --force "$@" \
      >"$out.log" 2>&1; then
    echo "FAIL: run with $n ranks $*"; cat "$out.log"; fail=1
  fi
}
run 1 "$work/r1.h5"
run 2 "$work/r2.h5"
run 3 "$work/r3.h5"
run 2 "$work/r2b.h5" --set run.block=37
$py "$src/tests/h5check.py" contract "$work/r3.h5" || fail=1
$py "$src/tests/h5verify.py" "$work/r3.h5" || fail=1 # every metric recomputed independently
# the vector math (rtk/vmath.h) forced to its scalar and SSE2 versions: the same bits as the
# widest version this CPU has (AVX-512F or AVX), end to end
RTK_VMATH_ISA=purec run 2 "$work/isa_purec.h5"
RTK_VMATH_ISA=sse2 run 3 "$work/isa_sse2.h5"
RTK_VMATH_ISA=avx run 2 "$work/isa_avx.h5" # also rtk-mala's row pass in AVX2 lanes (sampler_rtk.c)
for other in r2 r3 r2b isa_purec isa_sse2 isa_avx; do
  echo "== r1 vs $other"
  $py "$src/tests/h5check.py" same "$work/r1.h5" "$work/$other.h5" || fail=1
done
# rtk-mala's row pass (src/samplers/mala_row_impl.h: AVX2 for avx and avx512f, the scalar loop for purec/sse2)
# at d = 19: full vectors and a padded tail, the scalar loop's bits
row=(--set run.samplers=rtk-mala,rtk-mala-score --set target.kind=mog-random --set target.K=5 --set target.dim=19
     --set run.particles=300)
run 1 "$work/row.h5" "${row[@]}"
RTK_VMATH_ISA=purec run 1 "$work/row_purec.h5" "${row[@]}"
RTK_VMATH_ISA=avx run 2 "$work/row_avx.h5" "${row[@]}" --set run.block=37
# rows 4 at a time (sampler_rtk.c assemble_rows; rtk-mala adaptive: each row its own step): blocks 37 and 38 end
# in a partial group of 1 and 2 rows (the one-row pass), block 64 in none; the scalar rows and the AVX2 rows
RTK_VMATH_ISA=purec run 1 "$work/row_purec38.h5" "${row[@]}" --set run.block=38
for other in row_purec row_avx row_purec38; do
  echo "== row vs $other (rtk-mala's row pass, d = 19)"
  $py "$src/tests/h5check.py" same "$work/row.h5" "$work/$other.h5" || fail=1
done
# rtk-mala-score's quadrature sums 4 rows at a time (quad_rows): Simpson reads the end-point sums (Gauss does
# not) and one node's; block 64 has no partial group, block 38 on 2 ranks ends in groups of 2 rows
run 1 "$work/row_simp.h5" "${row[@]}" --set rtk-mala-score.quad=simpson
RTK_VMATH_ISA=purec run 2 "$work/row_simp38.h5" "${row[@]}" --set rtk-mala-score.quad=simpson --set run.block=38
echo "== row_simp vs row_simp38 (rtk-mala-score, Simpson, d = 19)"
$py "$src/tests/h5check.py" same "$work/row_simp.h5" "$work/row_simp38.h5" || fail=1
# output.samples: M = 700 cuts through rank 1's shard (3 ranks own 500
# particles each) and leaves rank 2 with nothing to write; M = 0 stores an
# empty [0][d] dataset.  The metrics always come from all N particles.
stored() { # ranks M
  run "$1" "$work/m$2.h5" --set output.samples=$2
  $py "$src/tests/h5check.py" contract "$work/m$2.h5" || fail=1
  $py - "$work/r1.h5" "$work/m$2.h5" "$2" <<'PY' || { echo "FAIL: output.samples=$2"; fail=1; }
import sys, h5py, numpy as np
M = int(sys.argv[3])
with h5py.File(sys.argv[1], "r") as a, h5py.File(sys.argv[2], "r") as b:
    for rid, ga in a["runs"].items():
        gb = b["runs"][rid]
        assert gb["samples"].shape == (M, ga["samples"].shape[1]) and gb.attrs["samples_stored"] == M, rid
        assert np.array_equal(ga["samples"][:M], gb["samples"][()]), rid
        assert ga["metrics/marginal_accuracy"][()] == gb["metrics/marginal_accuracy"][()], rid
print(f"output.samples={M}: the first {M} particles, metrics from all")
PY
}
stored 3 700
stored 2 0
# BLAS threads: with blocks of 512 particles, 64 modes and d = 48 the kernel's
# DGEMMs (512 x 64 x 48 = 1.6e6 multiply-adds) are above OpenBLAS's threading
# threshold (65536 x 4), so OPENBLAS_NUM_THREADS=2 really splits them
big="--set target.kind=mog-random --set target.K=64 --set target.dim=48 --set run.block=512 --set run.particles=3000"
OPENBLAS_NUM_THREADS=1 run 1 "$work/t1.h5" $big
OPENBLAS_NUM_THREADS=2 run 1 "$work/t2.h5" $big
echo "== 1 vs 2 BLAS threads"
$py "$src/tests/h5check.py" same "$work/t1.h5" "$work/t2.h5" || fail=1
# a shape whose BLAS kernels change with the row count (K = 64, d = 128: OpenBLAS's TN small-matrix kernel takes a
# 16-row call, core.gemm_tiles): 1 rank against 3 (the dynamic schedule's pieces, the last blocks), blocks of 16,
# and the RTK samplers' chunks of 37 rows (RTK_TEST_CHUNK, sampler_rtk.c's test hook) in blocks of 100
wide="--set run.samplers=ddpm,rtk-mala,rtk-uld --set target.kind=mog-random --set target.K=64 --set target.dim=128
      --set run.particles=400"
run 1 "$work/w1.h5" $wide
run 3 "$work/w3.h5" $wide
run 2 "$work/wb.h5" $wide --set run.block=16
RTK_TEST_CHUNK=37 run 2 "$work/wc.h5" $wide --set run.block=100
for other in w3 wb wc; do
  echo "== K = 64, d = 128: w1 vs $other"
  $py "$src/tests/h5check.py" same "$work/w1.h5" "$work/$other.h5" || fail=1
done
# a different seed must change the samples (the comparison can fail)
run 1 "$work/s2.h5" --set run.seed=5
if $py "$src/tests/h5check.py" same "$work/r1.h5" "$work/s2.h5" >/dev/null; then
  echo "FAIL: different seeds gave identical files"; fail=1
fi
# h5check.py metrics (the check behind docs/results.md's "the tables stand"): the 3-rank file's metrics equal the
# 1-rank file's, another seed's do not
$py "$src/tests/h5check.py" metrics "$work/r1.h5" "$work/r3.h5" || fail=1
if $py "$src/tests/h5check.py" metrics "$work/r1.h5" "$work/s2.h5" >/dev/null; then
  echo "FAIL: h5check.py metrics found no difference between seeds"; fail=1
fi
# smc resamples inside groups of 64 global ids, so its blocks must be multiples
# of 64 (block 37 above is refused): 1/2/3 ranks and blocks 64 vs 128, with
# resampling at intermediate steps (ess_threshold 0.9) and the counts compared
smc="--set run.samplers=smc --set smc.ess_threshold=0.9 --set run.nfe=25"
run 1 "$work/smc1.h5" $smc
run 2 "$work/smc2.h5" $smc
run 3 "$work/smc3.h5" $smc --set run.block=128
for other in smc2 smc3; do
  echo "== smc1 vs $other"
  $py "$src/tests/h5check.py" same "$work/smc1.h5" "$work/$other.h5" || fail=1
done
# a block that would cut a group, and a non-exact score, are refused before any run (exit 2)
for bad in "--set run.block=37" "--set score.model=perturbed --set score.error=0.1"; do
  "$bin" run "$src/tests/repro.ini" -o "$work/smcbad.h5" --force $smc $bad >"$work/smcbad.log" 2>&1
  rc=$?
  if [ $rc != 2 ] || ! grep -q "\[smc\]" "$work/smcbad.log" || [ -e "$work/smcbad.h5" ]; then
    echo "FAIL: smc with $bad: exit $rc"; cat "$work/smcbad.log"; fail=1
  fi
done
$py - "$work/smc1.h5" <<'PY' || { echo "FAIL: smc resampled nothing"; fail=1; }
import sys, h5py
with h5py.File(sys.argv[1], "r") as f:
    g = next(iter(f["runs"].values()))
    r = g["metrics/resampled"][()]
    assert r[:-1].sum() > 0 and r[-1] == g["metrics/groups"][-1], r
print("smc resampled groups per segment:", list(r))
PY
# the default run.rng = philox4x32 (Philox4x32-10 in SIMD lanes; RTK_VMATH_ISA also picks its version: purec/sse2
# scalar, avx AVX2, avx512f AVX-512F) is what the runs above checked; here run.rng = philox4x64 (the default before
# issue 11's eighth round): the same bitwise guarantees across rank counts, block sizes and vector-math versions,
# other bits than philox4x32, and an explicit run.rng = philox4x32 is the default's file
p64="--set run.rng=philox4x64"
run 1 "$work/p1.h5" $p64
run 2 "$work/p2.h5" $p64
run 3 "$work/p3.h5" $p64 --set run.block=37
RTK_VMATH_ISA=purec run 2 "$work/p_purec.h5" $p64
RTK_VMATH_ISA=avx run 3 "$work/p_avx.h5" $p64
run 1 "$work/pdef.h5" --set run.rng=philox4x32
run 2 "$work/psmc.h5" $smc $p64
run 3 "$work/psmc3.h5" $smc $p64 --set run.block=128
$py "$src/tests/h5verify.py" "$work/p3.h5" || fail=1
for other in p2 p3 p_purec p_avx; do
  echo "== p1 vs $other (philox4x64)"
  $py "$src/tests/h5check.py" same "$work/p1.h5" "$work/$other.h5" || fail=1
done
echo "== psmc vs psmc3 (philox4x64)"
$py "$src/tests/h5check.py" same "$work/psmc.h5" "$work/psmc3.h5" || fail=1
echo "== r1 vs pdef (run.rng = philox4x32 given)"
$py "$src/tests/h5check.py" same "$work/r1.h5" "$work/pdef.h5" || fail=1
$py - "$work/p1.h5" "$work/r1.h5" <<'PY' || { echo "FAIL: philox4x32 vs philox4x64"; fail=1; }
import sys, h5py, numpy as np
# the exact sampler and the target stay philox4x64 (purpose EXACT/TARGET); every other sampler's samples change
at = lambda g, k: g.attrs[k].decode() if isinstance(g.attrs[k], bytes) else g.attrs[k]
with h5py.File(sys.argv[1], "r") as a, h5py.File(sys.argv[2], "r") as b:
    assert np.array_equal(a["target/means"][()], b["target/means"][()])
    for rid, ga in a["runs"].items():
        gb = b["runs"][rid]
        assert at(ga, "rng") == "philox4x64" and at(gb, "rng") == "philox4x32", rid
        eq = np.array_equal(ga["samples"][()], gb["samples"][()])
        assert eq == (at(ga, "sampler") == "exact"), (rid, eq)
print("philox4x32: every sampler's samples differ from philox4x64's, exact's and the target are the same")
PY
"$bin" info "$work/p1.h5" | grep -q "^random numbers (run.rng): philox4x64 in [1-9][0-9]* runs, philox4x32 in 0 runs" \
  || { echo "FAIL: info does not show run.rng"; fail=1; }
# run.normal = ziggurat (one word per normal, rtk/ziggurat.h; SIMD fast path, scalar slow path): the same
# bitwise guarantees across rank counts, block sizes and vector-math versions, under both generators; other bits
# than box-muller for every sampler but exact, and an explicit run.normal = box-muller is the default's file
zg="--set run.normal=ziggurat"
run 1 "$work/z1.h5" $zg
run 2 "$work/z2.h5" $zg
run 3 "$work/z3.h5" $zg --set run.block=37
RTK_VMATH_ISA=purec run 2 "$work/z_purec.h5" $zg
RTK_VMATH_ISA=avx run 3 "$work/z_avx.h5" $zg
run 1 "$work/z64.h5" $zg $p64
RTK_VMATH_ISA=purec run 3 "$work/z64_purec.h5" $zg $p64 --set run.block=37
RTK_VMATH_ISA=avx run 2 "$work/z64_avx.h5" $zg $p64
run 1 "$work/zbm.h5" --set run.normal=box-muller
$py "$src/tests/h5verify.py" "$work/z3.h5" || fail=1
for other in z2 z3 z_purec z_avx; do
  echo "== z1 vs $other (ziggurat)"
  $py "$src/tests/h5check.py" same "$work/z1.h5" "$work/$other.h5" || fail=1
done
for other in z64_purec z64_avx; do
  echo "== z64 vs $other (ziggurat, philox4x64)"
  $py "$src/tests/h5check.py" same "$work/z64.h5" "$work/$other.h5" || fail=1
done
echo "== r1 vs zbm (run.normal = box-muller given)"
$py "$src/tests/h5check.py" same "$work/r1.h5" "$work/zbm.h5" || fail=1
$py - "$work/r1.h5" "$work/z1.h5" "$work/z64.h5" <<'PY' || { echo "FAIL: ziggurat vs box-muller"; fail=1; }
import sys, h5py, numpy as np
at = lambda g, k: g.attrs[k].decode() if isinstance(g.attrs[k], bytes) else g.attrs[k]
with h5py.File(sys.argv[1], "r") as a, h5py.File(sys.argv[2], "r") as b, h5py.File(sys.argv[3], "r") as c:
    for rid, ga in a["runs"].items():
        gb, gc = b["runs"][rid], c["runs"][rid]
        assert at(ga, "normal") == "box-muller" and at(gb, "normal") == "ziggurat" and at(gc, "normal") == "ziggurat", rid
        for g in (gb, gc):
            eq = np.array_equal(ga["samples"][()], g["samples"][()])
            assert eq == (at(ga, "sampler") == "exact"), (rid, eq)
print("ziggurat: every sampler's samples differ from box-muller's (both generators), exact's are the same")
PY
"$bin" info "$work/r3.h5" || fail=1
# every run's checksum (rows summed over ranks) verifies, whatever the rank count and block size
for f in r1 r2 r3 r2b m700 m0; do
  "$bin" info "$work/$f.h5" --verify >/dev/null || { echo "FAIL: checksums of $f.h5"; fail=1; }
done
[ $fail = 0 ] && echo "1 passed, 0 failed" || echo "0 passed, 1 failed"
exit $fail
