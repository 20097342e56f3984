/* Command line (SPEC §7).  Errors: one message on rank 0, the same exit code
 * on every rank (2 for bad input), no rank left waiting. */
#include "cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "rtk/blas.h"
#include "rtk/error.h"
#include "study.h"
#include "target_file.h"
#include "testhook.h"

static const char *usage =
    "usage:\n"
    "  rtkbench run CONFIG.ini [-o OUT.h5] [--set section.key=value ...] [--force | --resume]\n"
    "  rtkbench info OUT.h5 [--json] [--verify]\n"
    "                                    table of runs and headline metrics; --verify checks every\n"
    "                                    complete run against its checksum (exit 2 if one fails)\n"
    "  rtkbench list                     samplers, targets and every key with its default\n"
    "  rtkbench validate CONFIG.ini [--set section.key=value ...]\n"
    "                                    check, expand the sweep, estimate the cost; run nothing\n"
    "  rtkbench --version | --help\n";

typedef struct {
  const char *config, *output;
  const char **sets;
  int nsets, force, json, resume, verify;
} cli_args;

static int parse_args(int argc, char **argv, int first, int allow_o, int allow_force, int allow_json, cli_args *a) {
  a->sets = calloc((size_t)argc, sizeof(char *));
  if (!a->sets) return RTK_ERR(RTK_ERR_MEM, "out of memory");
  for (int i = first; i < argc; i++) {
    const char *s = argv[i];
    if (allow_o && (!strcmp(s, "-o") || !strcmp(s, "--output"))) {
      if (i + 1 >= argc) return RTK_ERR(RTK_ERR_INPUT, "%s needs a file name", s);
      a->output = argv[++i];
    } else if (!strcmp(s, "--set")) {
      if (i + 1 >= argc) return RTK_ERR(RTK_ERR_INPUT, "--set needs section.key=value");
      a->sets[a->nsets++] = argv[++i];
    } else if (!strncmp(s, "--set=", 6)) {
      a->sets[a->nsets++] = s + 6;
    } else if (allow_force && !strcmp(s, "--force")) {
      a->force = 1;
    } else if (allow_force && !strcmp(s, "--resume")) {
      a->resume = 1;
    } else if (allow_json && !strcmp(s, "--json")) {
      a->json = 1;
    } else if (allow_json && !strcmp(s, "--verify")) {
      a->verify = 1;
    } else if (s[0] == '-') {
      return RTK_ERR(RTK_ERR_INPUT, "unknown option '%s'\n%s", s, usage);
    } else if (!a->config) {
      a->config = s;
    } else {
      return RTK_ERR(RTK_ERR_INPUT, "unexpected argument '%s'\n%s", s, usage);
    }
  }
  if (!a->config) return RTK_ERR(RTK_ERR_INPUT, "missing file argument\n%s", usage);
  if (a->force && a->resume) return RTK_ERR(RTK_ERR_INPUT, "--force and --resume exclude each other");
  return RTK_OK;
}

/* rank 0 reads the file, every rank gets its text */
static int load_config(MPI_Comm comm, const cli_args *a, rtk_config *cfg) {
  int rank;
  MPI_Comm_rank(comm, &rank);
  char *text = NULL;
  int rc = rank == 0 ? rtk_read_file(a->config, &text) : RTK_OK;
  RTK_CHECK(rtk_collective(comm, rc));
  long len = rank == 0 ? (long)strlen(text) : 0;
  MPI_Bcast(&len, 1, MPI_LONG, 0, comm);
  if (rank != 0) {
    text = calloc((size_t)len + 1, 1);
    if (!text) return RTK_ERR(RTK_ERR_MEM, "out of memory");
  }
  MPI_Bcast(text, (int)len, MPI_CHAR, 0, comm);
  rc = rtk_config_parse(cfg, a->config, text);
  free(text);
  RTK_CHECK(rc);
  for (int i = 0; i < a->nsets; i++) RTK_CHECK(rtk_config_set(cfg, a->sets[i]));
  return RTK_OK;
}

static int cmd_run(MPI_Comm comm, int argc, char **argv, int validate_only) {
  cli_args a = {0};
  rtk_config cfg;
  rtk_study st;
  memset(&cfg, 0, sizeof cfg);
  memset(&st, 0, sizeof st);
  int size, rank;
  MPI_Comm_size(comm, &size);
  MPI_Comm_rank(comm, &rank);
  int rc = parse_args(argc, argv, 2, !validate_only, !validate_only, 0, &a);
  if (!rc) rc = load_config(comm, &a, &cfg);
  rtk_target_store store;
  rtk_target_store_init(&store, comm);
  rtk_target_loader ld = {rtk_target_store_attach, &store};
  /* deterministic: same verdict on every rank (target files: read on rank 0, verdict shared) */
  if (!rc) rc = rtk_study_expand(&cfg, &ld, &st);
  if (!rc) rc = rtk_study_load_scores(comm, &st); /* score.file weights: read on rank 0, broadcast */
  if (!rc && !validate_only) {
    rtk_test_pause("startup"); /* tests signal here (RTK_TEST_PAUSE=startup) */
    rc = rtk_collective_stop(comm); /* a signal during start-up: exit 3 */
  }
  if (!rc && validate_only) {
    const int mem = rtk_collective(comm, rtk_study_check_memory(comm, &st)); /* what `run` would refuse */
    if (rank == 0) {
      printf("%s: OK\n\n", a.config);
      rtk_study_print_plan(&st, size);
      if (mem) printf("warning: `run` on %d rank%s would refuse this study: %s\n", size, size == 1 ? "" : "s",
                      rtk_error_message());
    }
    rtk_error_clear();
  } else if (!rc) {
    rtk_cli_run run = {a.config, a.output, a.force, a.resume, argc, argv};
    rc = rtk_study_execute(comm, &cfg, &st, &run);
  }
  rtk_study_free(&st);
  rtk_target_store_free(&store);
  rtk_config_free(&cfg);
  free(a.sets);
  return rc;
}

int rtk_cli_main(MPI_Comm comm, int argc, char **argv) {
  int rank;
  MPI_Comm_rank(comm, &rank);
  int rc;
  rtk_signals_install(); /* from here on SIGTERM/SIGINT/SIGUSR1 mean exit code 3 */
  const char *cmd = argc > 1 ? argv[1] : "";
  if (!strcmp(cmd, "run")) {
    rc = cmd_run(comm, argc, argv, 0);
  } else if (!strcmp(cmd, "validate")) {
    rc = cmd_run(comm, argc, argv, 1);
  } else if (!strcmp(cmd, "list")) {
    if (rank == 0) rtk_print_catalogue();
    rc = RTK_OK;
  } else if (!strcmp(cmd, "info")) {
    cli_args a = {0};
    rc = parse_args(argc, argv, 2, 0, 0, 1, &a);
    if (!rc && rank == 0) rc = rtk_info(a.config, a.json, a.verify);
    free(a.sets);
    rc = rtk_collective(comm, rc);
  } else if (!strcmp(cmd, "--version")) {
    if (rank == 0) {
      rtk_blas_info b;
      char line[1024];
      rtk_blas_query(&b);
      rtk_blas_line(&b, line, sizeof line);
      printf("rtkbench %s\nBLAS: %s\n", RTK_VERSION, line);
      if (b.path[0]) printf("BLAS library: %s\n", b.path);
    }
    rc = RTK_OK;
  } else if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h") || !strcmp(cmd, "help")) {
    if (rank == 0) printf("%s", usage);
    rc = RTK_OK;
  } else {
    rc = cmd[0] ? RTK_ERR(RTK_ERR_INPUT, "unknown command '%s'\n%s", cmd, usage)
                : RTK_ERR(RTK_ERR_INPUT, "no command given\n%s", usage);
  }
  if (!rc && rtk_stop_requested()) rc = RTK_ERR(RTK_ERR_INTERRUPTED, "interrupted by a signal");
  if (rc && rank == 0) {
    fprintf(stderr, "rtkbench: error: %s\n", rtk_error_message());
    if (getenv("RTK_TRACEBACK")) fprintf(stderr, "%s", rtk_error_traceback());
  }
  return rc;
}
