#!/bin/bash
# Install rtkbench's dependencies from Debian packages (idempotent: installs
# only what is missing).  Run as root or with sudo available.
set -euo pipefail
pkgs=(build-essential cmake pkg-config clang libclang-rt-dev
      openmpi-bin libopenmpi-dev libhdf5-openmpi-dev hdf5-tools
      libopenblas-dev librandom123-dev libinih-dev libsleef-dev
      libblis-dev libblis-serial-dev   # the BLIS build in scripts/test.sh (-DRTK_BLAS=blis)
      python3 python3-numpy python3-h5py python3-matplotlib
      python3-sklearn dataset-fashion-mnist
      python3-torch   # python3-torch: analysis/train_score.py and its tests (CPU)
      slurm-wlm munge)    # the Slurm test (tests/test_slurm.sh) starts its own daemons
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
# install services (munge, slurmd, slurmctld) without starting them: where no
# policy-rc.d exists, one that denies every start is in place for the install
if [ ! -e /usr/sbin/policy-rc.d ]; then
  printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null
  $SUDO chmod 755 /usr/sbin/policy-rc.d
  trap '$SUDO rm -f /usr/sbin/policy-rc.d' EXIT
fi
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
