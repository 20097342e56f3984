#ifndef RTK_APP_CLI_H
#define RTK_APP_CLI_H
#include <mpi.h>

/* rtkbench's command line; returns an rtk_errcode (map with rtk_exit_code). */
int rtk_cli_main(MPI_Comm comm, int argc, char **argv);
int rtk_info(const char *path, int json);

#endif
