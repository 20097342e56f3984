/* Checks of an existing results file (serial, read-only). */
#ifndef RTK_APP_VERIFY_H
#define RTK_APP_VERIFY_H
#include <hdf5.h>
#include <stddef.h>
#include <stdint.h>

/* most runs in one study (run ids have four digits) */
#define RTK_MAX_RUNS 10000

enum { RTK_RUN_ABSENT = 0, RTK_RUN_INCOMPLETE = 1, RTK_RUN_COMPLETE = 2, RTK_RUN_BAD = 3 };

/* format == "rtkbench", format_version == RTK_FORMAT_VERSION (scalar), runs
 * a scalar count, /runs a group if present; errors are RTK_ERR_INPUT */
int rtk_results_header(hid_t f, const char *path, int64_t *nruns);
/* state of /runs/<id>: absent, incomplete (status is not "complete"),
 * complete (and its datasets match its checksum), or bad (marked complete
 * but unreadable, without checksum or not matching it; `why` says which).
 * Returns an error only for failures of this process (memory). */
int rtk_results_run_state(hid_t f, const char *id, int *state, char *why, size_t len);

#endif
