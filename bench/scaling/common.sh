# shellcheck shell=bash
# Shared by scale.sh and base.sh: which rtkbench and mpirun, and reading a
# results file without Python (the lent machine has no h5py).
#   RTKBENCH  the binary (default: rtkbench on PATH, e.g. after `source BUNDLE/env.sh`, else ./rtkbench)
#   MPIRUN    default mpirun (the bundle's, after env.sh)
#   MPI_ARGS  default "--bind-to core"; on the lent machine's image add
#             "--mca plm isolated --mca btl_vader_single_copy_mechanism none" (bench/device/README.md)
#   OUT       folder for the result tables (default: the working directory)
RTKBENCH=${RTKBENCH:-$(command -v rtkbench || echo ./rtkbench)}
MPIRUN=${MPIRUN:-mpirun}
MPI_ARGS=${MPI_ARGS:---bind-to core}
OUT=${OUT:-$PWD}
if [ -d ./lib ] && [ "$RTKBENCH" = ./rtkbench ]; then export LD_LIBRARY_PATH=$PWD/lib:${LD_LIBRARY_PATH:-}; fi
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OPENBLAS_NUM_THREADS=1
# rtk1 ARGS...: one rtkbench process, started by mpirun (on the lent machine's
# image a singleton MPI_Init cannot start its daemon), bound to no core (a
# caller may pin it with taskset)
MPI1_ARGS=$(echo "$MPI_ARGS" | sed 's/--bind-to [a-z]*/--bind-to none/')
case " $MPI1_ARGS " in *" --bind-to "*) ;; *) MPI1_ARGS="$MPI1_ARGS --bind-to none" ;; esac
# shellcheck disable=SC2086
rtk1() { "$MPIRUN" -n 1 $MPI1_ARGS "$RTKBENCH" "$@"; }
# jfield FILE KEY: the first run's numeric KEY from `rtkbench info --json`
jfield() { rtk1 info "$1" --json | grep -o "\"$2\": [-0-9.eE+]*" | head -1 | awk '{print $2}'; }
# split LOG: the first run's time split (score rng sampler diagnostics wait io, max over ranks) from a run's output
split() { awk '/^time split/ {f=1; next} f && /^0 / {print $3, $4, $5, $6, $7, $8; exit}' "$1"; }
