#!/bin/bash
# Pack rtkbench, rtk_bench_kernel and the Debian Open MPI 4.1.4 + PMIx 4.2 runtime
# they were built against into one relocatable bundle for a machine whose own
# Open MPI cannot launch them (issue 11, item 4).  See bench/device/README.md.
#
#   bash bench/device/pack.sh [--keep-tree] DEST
#
# DEST gets env.sh, runtime.tar.gz (bin/ lib/ share/ etc/ of the runtime),
# runtime.id and MANIFEST.  `source DEST/env.sh` unpacks runtime.tar.gz once
# into ${TMPDIR:-/tmp}/rtk-runtime-<id> and points PATH, LD_LIBRARY_PATH and the
# OPAL_* / PMIX_* / OMPI_MCA_* variables there; with --keep-tree the unpacked
# tree stays in DEST too (about 70 MB, too big to carry) and env.sh uses it.
# Binaries: $RTK_BUILD (default: <repo>/build); nothing there is rebuilt.
# RTK_EXTRA_BINS="SRC=NAME ..." adds more programs as bin/NAME (e.g. a build of
# another commit or against BLIS: "/tmp/old/build/rtkbench=rtkbench-before");
# their libraries join the bundle's closure.
# Libraries come from ldd, except the glibc family that the target provides.
set -euo pipefail

keep_tree=0
while [ $# -gt 0 ]; do
  case $1 in
    --keep-tree) keep_tree=1; shift ;;
    -h|--help) sed -n '2,14p' "$0"; exit 0 ;;
    -*) echo "pack.sh: unknown option $1" >&2; exit 2 ;;
    *) break ;;
  esac
done
[ $# -eq 1 ] || { echo "usage: bash bench/device/pack.sh [--keep-tree] DEST" >&2; exit 2; }

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
build=${RTK_BUILD:-$repo/build}
DEST=$1
die() { echo "pack.sh: $*" >&2; exit 1; }

bins=("$build/rtkbench" "$build/rtk_bench_kernel")
[ -x "$build/rtk_bench_cuda" ] && bins+=("$build/rtk_bench_cuda")   # a build with the cuda backend
for b in "${bins[@]}"; do [ -x "$b" ] || die "missing $b (build it first)"; done
declare -A extra=()   # bundle name -> source path
for e in ${RTK_EXTRA_BINS:-}; do
  src=${e%%=*} name=${e#*=}
  [ -x "$src" ] && [ -n "$name" ] && [ "$name" != "$e" ] || die "RTK_EXTRA_BINS entry '$e': want SRC=NAME with SRC executable"
  extra[$name]=$src
done

# --- where Debian put Open MPI and PMIx (ask dpkg, do not guess) -------------
libmpi=$(env -u LD_LIBRARY_PATH ldd "$build/rtkbench" | awk '$1=="libmpi.so.40"{print $3}')
[ -n "$libmpi" ] || die "rtkbench is not linked against libmpi.so.40"
libmpi=$(readlink -f "$libmpi")
pkg_lib=$(dpkg -S "$libmpi" | head -1 | cut -d: -f1)             # libopenmpi3:amd64
pkg_bin=$(dpkg -S "$(readlink -f /usr/bin/orterun)" | head -1 | cut -d: -f1)  # openmpi-bin
ompi_ver=$(dpkg-query -W -f='${Version}' "$pkg_lib")
comp_dir=$(dpkg -L "$pkg_lib" | grep -E '/mca_pml_ob1\.so$' | xargs dirname)
[ -d "$comp_dir" ] || die "no Open MPI component directory in $pkg_lib"
libpmix=$(readlink -f "$(env -u LD_LIBRARY_PATH ldd "$comp_dir/mca_pmix_ext3x.so" | awk '$1=="libpmix.so.2"{print $3}')")
pkg_pmix=$(dpkg -S "$libpmix" | head -1 | cut -d: -f1)            # libpmix2:amd64
pmix_ver=$(dpkg-query -W -f='${Version}' "$pkg_pmix")
pmix_comps=$(dpkg -L "$pkg_pmix" | grep -E '/pmix_mca_[^/]*\.so$' || true)
pmix_help=$(dpkg -L "$pkg_pmix" | grep -E '/share/pmix/help-[^/]*\.txt$' || true)
pmix_conf=$(dpkg -L "$pkg_pmix" | grep -E '/pmix-mca-params\.conf$' | head -1 || true)
pkg_common=$(dpkg -S /usr/share/openmpi/help-mpi-runtime.txt | head -1 | cut -d: -f1)  # openmpi-common
ompi_help=$(dpkg -L "$pkg_common" | grep -E '^/usr/share/openmpi/(help-[^/]*\.txt|amca-param-sets/.*)$' || true)
sysconf=$(dpkg -L "$pkg_bin" | grep -E '/openmpi-mca-params\.conf$' | head -1)
hostfile=$(dpkg -L "$pkg_bin" | grep -E '/openmpi-default-hostfile$' | head -1)

# glibc family: provided by the target machine
glibc_re='^(libc|libm|libmvec|libpthread|libdl|librt|libresolv|libutil|libanl|libnsl|libBrokenLocale)\.so'
# components that need fabric/UCX/OpenSHMEM stacks: useless on one node, and they
# would drag in (or pick up the target's) libucx/libfabric/libibverbs/libpsm
skip_re='^(libuc[mpst]|libfabric|libibverbs|librdmacm|libefa|libpsm|libinfinipath|liboshmem|libcuda|libnvidia)'
# CUDA libraries of the cuda backend (libcublasLt alone is ~540 MB): the GPU machine's own toolkit
# provides them (env.sh finds its directory); cudart is linked statically
cuda_re='^(libcublas|libcublasLt|libcudart)\.so'

# --- fresh DEST (refuse to wipe anything that is not an earlier bundle) -------
if [ -e "$DEST" ]; then
  if [ -f "$DEST/.rtk-bundle" ] || [ -z "$(ls -A "$DEST")" ]; then rm -rf "$DEST"
  else die "$DEST exists and is not an rtk bundle; refusing to delete it"; fi
fi
mkdir -p "$DEST"
DEST=$(cd "$DEST" && pwd)
touch "$DEST/.rtk-bundle"
T=$DEST            # the runtime tree (bin lib share etc) is built in DEST
mkdir -p "$T/bin" "$T/lib/openmpi" "$T/lib/pmix" "$T/lib/hwloc" \
         "$T/share/openmpi" "$T/share/pmix" "$T/etc"
touch "$T/lib/hwloc/.keep"   # HWLOC_PLUGINS_PATH: no plugins (pci/gl/opencl are optional)

elfs=()
# binaries
for b in "${bins[@]}"; do cp -L "$b" "$T/bin/"; elfs+=("$T/bin/$(basename "$b")"); done
for name in "${!extra[@]}"; do cp -L "${extra[$name]}" "$T/bin/$name"; elfs+=("$T/bin/$name"); done
for b in orterun orted ompi_info; do cp -L "/usr/bin/$b" "$T/bin/$b"; elfs+=("$T/bin/$b"); done
cp "$T/bin/orterun" "$T/bin/mpirun"; cp "$T/bin/orterun" "$T/bin/mpiexec"   # copies, no symlinks

# Open MPI components
skipped=()
for c in "$comp_dir"/mca_*.so; do
  needs=$(env -u LD_LIBRARY_PATH ldd "$c" | awk '{print $1}')
  if echo "$needs" | grep -qE "$skip_re"; then
    skipped+=("$(basename "$c" .so)"); continue
  fi
  cp -L "$c" "$T/lib/openmpi/"; elfs+=("$T/lib/openmpi/$(basename "$c")")
done
# PMIx components
for c in $pmix_comps; do cp -L "$c" "$T/lib/pmix/"; elfs+=("$T/lib/pmix/$(basename "$c")"); done

# shared libraries: closure of everything above, by soname, minus glibc
declare -A libs=()
for f in "${elfs[@]}"; do
  src=$f
  case $f in "$T"/bin/rtkbench|"$T"/bin/rtk_bench_kernel|"$T"/bin/rtk_bench_cuda) src=$build/$(basename "$f");; esac
  [ -n "${extra[$(basename "$f")]:-}" ] && [ "$(dirname "$f")" = "$T/bin" ] && src=${extra[$(basename "$f")]}
  out=$(env -u LD_LIBRARY_PATH ldd "$src")
  if echo "$out" | grep -q 'not found'; then die "$src: $(echo "$out" | grep 'not found' | tr '\n' ' ')"; fi
  while read -r name path; do
    [[ $name =~ $glibc_re ]] && continue
    [[ $name =~ $cuda_re ]] && continue
    libs[$name]=$path
  done < <(echo "$out" | awk '$2=="=>" && $3 ~ /^\// {print $1, $3}')
done
for name in "${!libs[@]}"; do cp -L "${libs[$name]}" "$T/lib/$name"; done

# help texts and configuration
for f in $ompi_help; do
  d=$T/share/openmpi/${f#/usr/share/openmpi/}; mkdir -p "$(dirname "$d")"; cp "$f" "$d"
done
for f in $pmix_help; do cp "$f" "$T/share/pmix/"; done
{ echo "# Debian $pkg_bin $ompi_ver: $sysconf (copied by bench/device/pack.sh)"; cat "$sysconf"; } > "$T/etc/openmpi-mca-params.conf"
[ -n "$hostfile" ] && cp "$hostfile" "$T/etc/openmpi-default-hostfile"
{ echo "# Debian $pkg_pmix $pmix_ver: $pmix_conf (copied by bench/device/pack.sh)"
  echo "# its absolute mca_base_component_path is dropped: env.sh sets PMIX_MCA_mca_base_component_path"
  [ -n "$pmix_conf" ] && grep -v -E '^[[:space:]]*mca_base_component_path' "$pmix_conf" || true
} > "$T/etc/pmix-mca-params.conf"

# --- check: every ELF resolves inside the bundle (or to glibc) ----------------
bad=0
while read -r f; do
  out=$(LD_LIBRARY_PATH=$T/lib ldd "$f" 2>&1) || true
  while read -r name path; do
    [[ $name =~ $glibc_re ]] && continue
    [[ $name =~ $cuda_re ]] && continue
    case $path in "$T"/lib/*) ;; *) echo "pack.sh: $f: $name -> $path (outside the bundle)" >&2; bad=1;; esac
  done < <(echo "$out" | awk '$2=="=>" {print $1, $3}')
done < <(find "$T/bin" "$T/lib" -type f -name '*' ! -name '.keep' -exec sh -c 'head -c4 "$1" | grep -q ELF && echo "$1"' _ {} \;)
[ $bad -eq 0 ] || die "unresolved libraries (see above)"

# newest glibc symbol version any bundled ELF needs (the target must have it)
glibc_need=$(find "$T/bin" "$T/lib" -type f ! -name '.keep' ! -name '*.txt' -exec objdump -T {} + 2>/dev/null \
  | grep -oE 'GLIBC_[0-9]+\.[0-9]+(\.[0-9]+)?' | sed 's/GLIBC_//' | sort -uV | tail -1)

# --- env.sh, manifest, archive -----------------------------------------------
cp "$here/env.sh" "$DEST/env.sh"
{
  echo "rtkbench device bundle, packed $(date -u +%Y-%m-%dT%H:%M:%SZ) on $(hostname)"
  echo "repo commit: $(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo '?')$(git -C "$repo" diff --quiet 2>/dev/null || echo ' (+local changes)')"
  echo "binaries from: $build"
  for name in "${!extra[@]}"; do echo "extra binary: bin/$name from ${extra[$name]}"; done
  echo "Open MPI: $pkg_lib $ompi_ver, $pkg_bin; PMIx: $pkg_pmix $pmix_ver"
  echo "needs glibc >= $glibc_need on the target (glibc family not bundled)"
  echo "Open MPI components left out (fabric/UCX/OpenSHMEM): ${skipped[*]}"
  echo
  (cd "$T" && find bin lib share etc -type f ! -name '.keep' | sort | xargs -d '\n' du -b | awk '{printf "%10d %s\n", $1, $2}')
} > "$DEST/MANIFEST"
echo "$glibc_need" > "$DEST/glibc.min"
tar -C "$T" -cf - bin lib share etc MANIFEST | gzip -6 > "$DEST/runtime.tar.gz"   # T is DEST
id=$(sha256sum "$DEST/runtime.tar.gz" | cut -c1-12)   # env.sh unpacks to .../rtk-runtime-$id
echo "$id" > "$DEST/runtime.id"
if [ $keep_tree -eq 0 ]; then rm -rf "${T:?}/bin" "${T:?}/lib" "${T:?}/share" "${T:?}/etc"; fi

tree_mb=$(awk 'NR>7{s+=$1} END{printf "%.1f", s/1048576}' "$DEST/MANIFEST")
echo "pack.sh: $DEST: runtime $tree_mb MiB unpacked, $(du -sm "$DEST" | cut -f1) MiB on disk ($(du -sh "$DEST/runtime.tar.gz" | cut -f1) runtime.tar.gz); id $id; glibc >= $glibc_need"
echo "pack.sh: left out components: ${skipped[*]}"
