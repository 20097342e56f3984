/* rtkbench: MPI benchmark of diffusion-model inference algorithms. */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "io_hdf5.h"
#include "study.h"

#include "cli.h"
#include "rtk/error.h"

int main(int argc, char **argv) {
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
