/* Rollback journal of the results file: crash consistency at every moment,
 * including inside a flush (docs/format.md, "Crash consistency").
 *
 * Between two commits (the agreed flushes at run boundaries) the file's
 * committed state is its bytes up to the length it had at the last commit.
 * Before any rank overwrites a byte below that length through MPI-IO
 * (MPI_File_write_at, MPI_File_write_at_all), or truncates it away
 * (MPI_File_set_size), rank 0 appends the old bytes to PATH.journal and
 * syncs it.  A commit syncs the file and empties the journal.  A process
 * killed at any moment therefore leaves either an empty journal (the file is
 * in a committed state) or one that restores the last committed state
 * exactly: rtk_journal_recover writes the saved bytes back (newest first)
 * and truncates the file to the committed length.
 *
 * The MPI-IO calls are intercepted through MPI's profiling interface (this
 * module defines MPI_File_write_at, MPI_File_write_at_all and
 * MPI_File_set_size and forwards to PMPI_*), which sits above the MPI-IO
 * implementation: it holds for ROMIO and OMPIO alike. */
#ifndef RTK_APP_JOURNAL_H
#define RTK_APP_JOURNAL_H
#include <hdf5.h>
#include <mpi.h>
#include <stddef.h>

/* collective: journal every later overwrite of the open results file (its
 * current length is the committed state) */
int rtk_journal_start(MPI_Comm comm, hid_t file, const char *path);
/* the same for a file opened with MPI_File_open (collective; tests/test_journal.c) */
int rtk_journal_start_fh(MPI_Comm comm, MPI_File fh, const char *path);
/* collective, after a flush that succeeded on every rank: the file as it is
 * now is the committed state */
int rtk_journal_commit(void);
/* the file was closed cleanly (collective): remove the journal */
void rtk_journal_finish(void);
/* an error path (any rank, not collective): stop journaling and keep the
 * journal, so that --resume restores the last committed state */
void rtk_journal_abandon(void);
/* PATH.journal */
void rtk_journal_path(const char *path, char *buf, size_t len);
/* rank 0, holding the writer's lock: if PATH has an unfinished commit, put
 * its last committed state back.  *restored: regions written back, or -1
 * when there was nothing to do.  A journal of another file is removed. */
int rtk_journal_recover(const char *path, int *restored);
/* is there a journal that rtk_journal_recover would apply? */
int rtk_journal_hot(const char *path);

#endif
