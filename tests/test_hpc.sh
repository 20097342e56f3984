#!/bin/bash
# Batch scripts: syntax, directives, and a dry run of the launch command.
# usage: test_hpc.sh SRCDIR
set -u
src=$1
pass=0 fail=0
ok() { echo "PASS $1"; pass=$((pass + 1)); }
bad() { echo "FAIL $1"; fail=$((fail + 1)); }
for f in "$src"/hpc/slurm/*.sbatch "$src"/hpc/pbs/*.pbs; do
  bash -n "$f" && ok "bash -n $(basename "$f")" || bad "bash -n $(basename "$f")"
done
grep -q '^#SBATCH --signal=TERM@' "$src/hpc/slurm/run_study.sbatch" && ok "slurm signal directive" || bad "slurm signal"
grep -q '^#SBATCH --time=' "$src/hpc/slurm/run_study.sbatch" && ok "slurm walltime directive" || bad "slurm walltime"
grep -q '^#PBS -l walltime=' "$src/hpc/pbs/run_study.pbs" && ok "pbs walltime directive" || bad "pbs walltime"
# only against a controller that answers (slurm-wlm is installed for the
# slurm.walltime test, which runs its own controller and this check too)
if command -v sbatch >/dev/null 2>&1 && timeout 10 scontrol ping >/dev/null 2>&1; then
  sbatch --test-only "$src/hpc/slurm/run_study.sbatch" "$src/experiments/quickstart.ini" && ok "sbatch --test-only" || bad "sbatch --test-only"
fi
cd "$src"
out=$(SRUN=echo RESUBMIT=0 STUDY_SETS="run.particles=1000 run.seed=2" bash hpc/slurm/run_study.sbatch experiments/quickstart.ini)
grep -q -- "run experiments/quickstart.ini -o results/quickstart.h5 --resume --set run.particles=1000 --set run.seed=2" <<<"$out" \
  && ok "slurm dry run: $out" || bad "slurm dry run: $out"
out=$(MPIEXEC="echo --" NP=8 STUDY=experiments/quickstart.ini bash hpc/pbs/run_study.pbs)
grep -q -- "-n 8 --bind-to core --mca odls_base_sigkill_timeout 60 .*run experiments/quickstart.ini -o results/quickstart.h5 --resume" <<<"$out" \
  && ok "pbs dry run: $out" || bad "pbs dry run: $out"
echo "$pass passed, $fail failed"
[ $fail = 0 ]
