#ifndef RTK_APP_CLI_H
#define RTK_APP_CLI_H
#include <mpi.h>

/* rtkbench's command line; returns an rtk_errcode (map with rtk_exit_code). */
int rtk_cli_main(MPI_Comm comm, int argc, char **argv);
#include <hdf5.h>
#include <stdio.h>
/* info: exit-code-bearing errors for a foreign, unknown-version or (with verify) damaged file */
int rtk_info(const char *path, int json, int verify);
int rtk_info_file(hid_t f, const char *path, int json, int verify, FILE *out);

#endif
