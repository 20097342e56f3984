/* rtkbench: MPI benchmark of diffusion-model inference algorithms. */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "io_hdf5.h"
#include "study.h"

#include "cli.h"
#include "rtk/blas.h"
#include "rtk/error.h"

int main(int argc, char **argv) {
  /* before MPI_Init and before any BLAS call: a DYNAMIC_ARCH OpenBLAS that
   * fell back to old SSE kernels on an AVX2/AVX-512 CPU is fixed by one
   * re-exec with OPENBLAS_CORETYPE set (include/rtk/blas.h); the notice is
   * printed by rank 0 of a `run` */
  rtk_blas_autofix(argv, argc > 1 && !strcmp(argv[1], "run") && rtk_blas_launch_rank0());
  /* Open MPI's OMPIO layer can drop write errors (a full disk goes unnoticed
   * in some collective writes); ROMIO reports them.  Prefer it unless the
   * user chose an io component (docs/design.md, "I/O errors"). */
  setenv("OMPI_MCA_io", "^ompio", 0);
  rtk_signals_install(); /* a SIGTERM even during MPI_Init means exit code 3 */
  MPI_Init(&argc, &argv);
  int rc = rtk_cli_main(MPI_COMM_WORLD, argc, argv);
  if (rtk_h5_unclean()) {
    /* a results file could not be closed (the error is agreed and reported):
     * HDF5 1.10's clean-up inside MPI_Finalize would crash on it */
    fflush(stdout);
    fflush(stderr);
    _exit(rtk_exit_code(rc ? rc : RTK_ERR_IO));
  }
  MPI_Finalize();
  return rtk_exit_code(rc);
}
