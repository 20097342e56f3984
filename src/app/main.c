/* rtkbench: MPI benchmark of diffusion-model inference algorithms. */
#include <mpi.h>

#include "cli.h"
#include "rtk/error.h"

int main(int argc, char **argv) {
  MPI_Init(&argc, &argv);
  int rc = rtk_cli_main(MPI_COMM_WORLD, argc, argv);
  MPI_Finalize();
  return rtk_exit_code(rc);
}
