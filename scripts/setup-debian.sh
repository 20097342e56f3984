#!/bin/bash
# Install rtkbench's dependencies from Debian packages (idempotent: installs
# only what is missing).  Run as root or with sudo available.
set -euo pipefail
pkgs=(build-essential cmake pkg-config clang
      openmpi-bin libopenmpi-dev libhdf5-openmpi-dev hdf5-tools
      libopenblas-dev librandom123-dev libinih-dev
      python3 python3-numpy python3-h5py python3-matplotlib
      python3-sklearn dataset-fashion-mnist)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "setup-debian: all dependencies present"
  exit 0
fi
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO=sudo
echo "setup-debian: installing ${missing[*]}"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
