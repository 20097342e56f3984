# shellcheck shell=bash
# Source this file (bash) from a bundle made by bench/device/pack.sh:
#   source DEST/env.sh
# It points PATH, LD_LIBRARY_PATH and Open MPI / PMIx / hwloc at the carried
# Debian Open MPI 4.1.4 + PMIx runtime, so `mpirun` is that one and nothing
# of the machine's own MPI is read.  If DEST holds only runtime.tar.gz, it is
# unpacked once into ${RTK_RT_DIR:-${TMPDIR:-/tmp}/rtk-runtime-<id>}.
# Exports RTK_BUNDLE (DEST) and RTK_RT (the runtime tree: $RTK_RT/bin/rtkbench,
# $RTK_RT/bin/rtk_bench_kernel, $RTK_RT/lib).  Pre-set OMPI_MCA_*, PMIX_MCA_*,
# OPAL_* and PMIX_*DIR variables are unset (and named) unless RTK_KEEP_MPI_ENV=1.

_rtk_b=$(cd "$(dirname "${BASH_SOURCE[0]:-$0}")" && pwd)
_rtk_fail() { echo "rtk env.sh: $*" >&2; return 1; }

if [ -x "$_rtk_b/bin/rtkbench" ]; then
  RTK_RT=$_rtk_b
elif [ -f "$_rtk_b/runtime.tar.gz" ]; then
  _rtk_id=$(cat "$_rtk_b/runtime.id" 2>/dev/null || echo noid)
  RTK_RT=${RTK_RT_DIR:-${TMPDIR:-/tmp}/rtk-runtime-$_rtk_id}
  if [ ! -f "$RTK_RT/.complete" ]; then
    echo "rtk env.sh: unpacking $_rtk_b/runtime.tar.gz into $RTK_RT" >&2
    rm -rf "$RTK_RT.tmp.$$" && mkdir -p "$RTK_RT.tmp.$$" &&
      { tar -C "$RTK_RT.tmp.$$" -xzf "$_rtk_b/runtime.tar.gz" ||
        python3 -c 'import sys,tarfile; tarfile.open(sys.argv[1]).extractall(sys.argv[2])' \
          "$_rtk_b/runtime.tar.gz" "$RTK_RT.tmp.$$"; } &&
      touch "$RTK_RT.tmp.$$/.complete" && rm -rf "$RTK_RT" && mv "$RTK_RT.tmp.$$" "$RTK_RT" ||
      { rm -rf "$RTK_RT.tmp.$$"; _rtk_fail "could not unpack the runtime"; return 1 2>/dev/null || exit 1; }
  fi
else
  _rtk_fail "$_rtk_b has neither bin/rtkbench nor runtime.tar.gz (run bench/device/pack.sh)"
  return 1 2>/dev/null || exit 1
fi
export RTK_BUNDLE=$_rtk_b RTK_RT

# the machine's own MPI settings would steer our runtime (e.g. OMPI_MCA_pml=ucx)
if [ "${RTK_KEEP_MPI_ENV:-0}" != 1 ]; then
  _rtk_unset=$(env | awk -v rt="$RTK_RT" '
    match($0, /^((OMPI_MCA_|PMIX_MCA_|OPAL_)[A-Za-z0-9_]*|PMIX_[A-Z_]*DIR|PMIX_(INSTALL_)?PREFIX|PMIX_EXEC_PREFIX)=/) {
      k = substr($0, 1, RLENGTH - 1); v = substr($0, RLENGTH + 1)
      if (index(v, rt) != 1) print k }' | sort -u | tr '\n' ' ')
  if [ -n "$_rtk_unset" ]; then
    echo "rtk env.sh: unset pre-set MPI variables: $_rtk_unset" >&2
    unset $_rtk_unset
  fi
fi

export PATH=$RTK_RT/bin${PATH:+:$PATH}
export LD_LIBRARY_PATH=$RTK_RT/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
# the cuda backend's cuBLAS (not bundled): the machine's toolkit, else the pip wheel's copy
if ! ldconfig -p 2>/dev/null | grep -q 'libcublas\.so\.13'; then
  for _rtk_d in /usr/local/cuda/lib64 /usr/local/cuda/targets/x86_64-linux/lib \
      $(python3 -c 'import nvidia.cu13, os; print(os.path.dirname(nvidia.cu13.__file__) + "/lib")' 2>/dev/null) \
      $(python3 -c 'import nvidia.cublas, os; print(os.path.dirname(nvidia.cublas.__file__) + "/lib")' 2>/dev/null); do
    if [ -e "$_rtk_d/libcublas.so.13" ]; then export LD_LIBRARY_PATH=$LD_LIBRARY_PATH:$_rtk_d; break; fi
  done
fi

# Open MPI 4.1 install directories (installdirs "env" component); Debian's
# built-in ones are absolute (/usr/lib/x86_64-linux-gnu/openmpi/lib, /etc/openmpi)
export OPAL_PREFIX=$RTK_RT OPAL_EXEC_PREFIX=$RTK_RT \
  OPAL_BINDIR=$RTK_RT/bin OPAL_SBINDIR=$RTK_RT/bin OPAL_LIBEXECDIR=$RTK_RT/bin \
  OPAL_LIBDIR=$RTK_RT/lib OPAL_PKGLIBDIR=$RTK_RT/lib/openmpi \
  OPAL_DATAROOTDIR=$RTK_RT/share OPAL_DATADIR=$RTK_RT/share OPAL_PKGDATADIR=$RTK_RT/share/openmpi \
  OPAL_SYSCONFDIR=$RTK_RT/etc OPAL_SHAREDSTATEDIR=$RTK_RT/etc OPAL_LOCALSTATEDIR=$RTK_RT/etc \
  OPAL_INCLUDEDIR=$RTK_RT/include OPAL_PKGINCLUDEDIR=$RTK_RT/include \
  OPAL_MANDIR=$RTK_RT/share OPAL_INFODIR=$RTK_RT/share
export OMPI_MCA_mca_base_component_path=$RTK_RT/lib/openmpi

# PMIx 4.2 (pinstalldirs "env" reads PMIX_PREFIX; PMIx 3 read PMIX_INSTALL_PREFIX)
export PMIX_PREFIX=$RTK_RT PMIX_INSTALL_PREFIX=$RTK_RT PMIX_EXEC_PREFIX=$RTK_RT \
  PMIX_BINDIR=$RTK_RT/bin PMIX_SBINDIR=$RTK_RT/bin PMIX_LIBEXECDIR=$RTK_RT/bin \
  PMIX_LIBDIR=$RTK_RT/lib PMIX_PKGLIBDIR=$RTK_RT/lib/pmix \
  PMIX_DATAROOTDIR=$RTK_RT/share PMIX_DATADIR=$RTK_RT/share PMIX_PKGDATADIR=$RTK_RT/share/pmix \
  PMIX_SYSCONFDIR=$RTK_RT/etc PMIX_SHAREDSTATEDIR=$RTK_RT/etc PMIX_LOCALSTATEDIR=$RTK_RT/etc \
  PMIX_INCLUDEDIR=$RTK_RT/include PMIX_PKGINCLUDEDIR=$RTK_RT/include \
  PMIX_MANDIR=$RTK_RT/share PMIX_INFODIR=$RTK_RT/share
export PMIX_MCA_mca_base_component_path=$RTK_RT/lib/pmix

# hwloc: no plugins (the machine's own would be another hwloc build)
export HWLOC_PLUGINS_PATH=$RTK_RT/lib/hwloc

export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OPENBLAS_NUM_THREADS=1

if [ -f "$_rtk_b/glibc.min" ] && command -v getconf >/dev/null 2>&1; then
  _rtk_need=$(cat "$_rtk_b/glibc.min"); _rtk_have=$(getconf GNU_LIBC_VERSION 2>/dev/null | awk '{print $2}')
  if [ -n "$_rtk_have" ] && [ "$(printf '%s\n%s\n' "$_rtk_need" "$_rtk_have" | sort -V | head -1)" != "$_rtk_need" ]; then
    echo "rtk env.sh: WARNING: this glibc is $_rtk_have, the bundle needs >= $_rtk_need" >&2
  fi
fi
unset _rtk_b _rtk_id _rtk_unset _rtk_need _rtk_have
unset -f _rtk_fail
