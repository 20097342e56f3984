#!/bin/bash
# BLAS provenance and the OpenBLAS fallback-core fix (include/rtk/blas.h):
#  - every results file names the BLAS (root attributes blas_*, cpu_isa; each
#    run's `blas`), one thread per rank, the same core `rtkbench --version` reports;
#    `rtkbench info` shows it (text and --json);
#  - where OpenBLAS is a DYNAMIC_ARCH build and the CPU has AVX2/AVX-512:
#    OPENBLAS_CORETYPE=Prescott (a fallback core) under 2 MPI ranks is corrected
#    by one re-exec before MPI_Init (one notice on stderr, the file names the
#    better core and what was fixed), the results pass h5verify; RTK_BLAS_AUTOFIX=0
#    leaves Prescott (with a warning); RTK_BLAS_FAKE_CORENAME triggers the same
#    fix; a preset RTK_BLAS_REEXEC (the loop guard) stops any re-exec.
# usage: test_blas.sh RTKBENCH MPIEXEC WORKDIR SRCDIR
set -u
bin=$1 mpiexec=$2 work=$3 src=$4
py=/usr/bin/python3
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
unset OPENBLAS_CORETYPE RTK_BLAS_AUTOFIX RTK_BLAS_REEXEC RTK_BLAS_FAKE_CORENAME
mkdir -p "$work"
source "$src/tests/testlib.sh"
cfg="$src/experiments/quickstart.ini"
small=(--force --set run.particles=600 --set metrics.frechet=false)

# attr FILE NAME: a root attribute of a results file
attr() { $py -c "import h5py,sys; v=h5py.File(sys.argv[1])[sys.argv[3]].attrs[sys.argv[2]] if len(sys.argv)>3 else h5py.File(sys.argv[1]).attrs[sys.argv[2]]; print(v.decode() if isinstance(v,bytes) else v)" "$@"; }
# field of `rtkbench --version`'s BLAS line: core / cpu
vcore() { sed -n 's/^BLAS: .*, core \([^,]*\), .*/\1/p'; }
vcpu() { sed -n 's/^BLAS: .*, CPU \([a-z0-9]*\).*/\1/p'; }

ver=$(RTK_BLAS_AUTOFIX=0 "$bin" --version)
echo "$ver"
core0=$(echo "$ver" | vcore) cpu=$(echo "$ver" | vcpu)
[ -n "$core0" ] && [ -n "$cpu" ] && ok "--version names the BLAS core ($core0) and the CPU ($cpu)" || ko "--version BLAS line"

# 1. a plain run: provenance in the file and in info
timeout 120 "$mpiexec" -n 2 --oversubscribe "$bin" run "$cfg" -o "$work/plain.h5" "${small[@]}" >"$work/plain.log" 2>&1 \
  && ok "plain run" || { ko "plain run"; cat "$work/plain.log"; }
lib=$(attr "$work/plain.h5" blas_library)
[ "$lib" = OpenBLAS ] || [ "$lib" = BLIS ] || [ "$lib" = unknown ] && ok "blas_library = $lib" || ko "blas_library '$lib'"
[ "$(attr "$work/plain.h5" blas_threads)" = 1 ] || [ "$lib" = unknown ] && ok "one BLAS thread per rank" \
  || ko "blas_threads $(attr "$work/plain.h5" blas_threads)"
[ "$(attr "$work/plain.h5" cpu_isa)" = "$cpu" ] && ok "cpu_isa = $cpu" || ko "cpu_isa"
"$bin" info "$work/plain.h5" >"$work/plain.txt" && grep -q "^BLAS: .*core $(attr "$work/plain.h5" blas_core)" "$work/plain.txt" \
  && ok "info shows the BLAS" || { ko "info BLAS line"; cat "$work/plain.txt"; }
"$bin" info "$work/plain.h5" --json >"$work/plain.json" && $py - "$work/plain.json" "$work/plain.h5" <<'EOF' && ok "info --json blas = the file's attributes" || ko "info --json blas"
import h5py, json, sys
j = json.load(open(sys.argv[1]))["blas"]
f = h5py.File(sys.argv[2])
s = lambda k: (lambda v: v.decode() if isinstance(v, bytes) else str(v))(f.attrs[k])
for k in ["library", "version", "core", "path", "autofix"]:
    assert j[k] == s("blas_" + k), (k, j[k], s("blas_" + k))
assert j["cpu_isa"] == s("cpu_isa") and j["threads"] == int(f.attrs["blas_threads"])
for rid, g in f["runs"].items():
    assert "core " + s("blas_core") in g.attrs["blas"].decode() if isinstance(g.attrs["blas"], bytes) else g.attrs["blas"], rid
EOF

# 2. the fix, where it applies
want=""
case $cpu in avx512) want=SkylakeX ;; avx2) want=Haswell ;; esac
dynamic=$(attr "$work/plain.h5" blas_version | grep -c DYNAMIC_ARCH)
if [ "$lib" != OpenBLAS ] || [ "$dynamic" = 0 ] || [ -z "$want" ]; then
  echo "SKIP: the autofix checks need a DYNAMIC_ARCH OpenBLAS on an AVX2/AVX-512 CPU (here: $lib, cpu $cpu)"
else
  OPENBLAS_CORETYPE=Prescott timeout 120 "$mpiexec" -n 2 --oversubscribe "$bin" run "$cfg" -o "$work/fix.h5" "${small[@]}" \
    >"$work/fix.out" 2>"$work/fix.err" && ok "forced Prescott: run" || { ko "forced Prescott: run"; cat "$work/fix.err"; }
  n=$(grep -c "restarted with OPENBLAS_CORETYPE=$want (was Prescott): it now runs its $want kernels (RTK" "$work/fix.err")
  [ "$n" = 1 ] && ok "forced Prescott: one notice on stderr (rank 0)" || { ko "forced Prescott: $n notices"; cat "$work/fix.err"; }
  [ "$(attr "$work/fix.h5" blas_core)" = "$want" ] && ok "forced Prescott: the file says core $want" \
    || ko "forced Prescott: blas_core $(attr "$work/fix.h5" blas_core)"
  [ "$(attr "$work/fix.h5" blas_autofix)" = "OPENBLAS_CORETYPE=$want (was Prescott)" ] && ok "forced Prescott: blas_autofix" \
    || ko "blas_autofix '$(attr "$work/fix.h5" blas_autofix)'"
  "$bin" info "$work/fix.h5" | grep -q "core $want, 1 thread, CPU $cpu, autofix OPENBLAS_CORETYPE=$want (was Prescott)" \
    && ok "forced Prescott: info shows the fix" || ko "forced Prescott: info"
  check "forced Prescott: h5verify" $py "$src/tests/h5verify.py" "$work/fix.h5"

  RTK_BLAS_AUTOFIX=0 OPENBLAS_CORETYPE=Prescott timeout 120 "$mpiexec" -n 2 --oversubscribe "$bin" run "$cfg" \
    -o "$work/off.h5" "${small[@]}" >"$work/off.out" 2>"$work/off.err" && ok "RTK_BLAS_AUTOFIX=0: run" || ko "autofix off: run"
  [ "$(attr "$work/off.h5" blas_core)" = Prescott ] && [ -z "$(attr "$work/off.h5" blas_autofix)" ] \
    && ok "RTK_BLAS_AUTOFIX=0: Prescott stays, no autofix recorded" || ko "autofix off: $(attr "$work/off.h5" blas_core)"
  [ "$(grep -c "warning: OpenBLAS runs its Prescott kernels on this $cpu CPU" "$work/off.err")" = 1 ] \
    && ok "RTK_BLAS_AUTOFIX=0: one warning" || { ko "autofix off: warning"; cat "$work/off.err"; }

  RTK_BLAS_FAKE_CORENAME=Katmai timeout 60 "$bin" run "$cfg" -o "$work/fake.h5" "${small[@]}" >/dev/null 2>"$work/fake.err"
  [ "$(attr "$work/fake.h5" blas_autofix)" = "OPENBLAS_CORETYPE=$want (was Katmai)" ] \
    && [ "$(attr "$work/fake.h5" blas_core)" = "$want" ] && ok "RTK_BLAS_FAKE_CORENAME=Katmai: fixed to $want" \
    || { ko "fake core"; cat "$work/fake.err"; }

  # the loop guard: a process that is marked as re-executed never re-executes
  RTK_BLAS_REEXEC="$want (was Prescott)" OPENBLAS_CORETYPE=Prescott timeout 60 "$bin" run "$cfg" -o "$work/guard.h5" \
    "${small[@]}" >/dev/null 2>"$work/guard.err"
  [ "$(attr "$work/guard.h5" blas_core)" = Prescott ] && grep -q "NOT the requested ones" "$work/guard.err" \
    && ok "a marked process does not re-exec again (and says the core is not the requested one)" \
    || { ko "loop guard"; cat "$work/guard.err"; }
fi
summary
