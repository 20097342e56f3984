/* libFuzzer target: the INI parser, --set overrides and the sweep expansion
 * with every run's resolution (the code behind `rtkbench validate` and the
 * start of `run`).  Input: INI text, optionally followed by a line "%%" and
 * one section.key=value assignment per line (as --set).  Anything may be
 * refused with an error code; nothing may crash, overflow, leak or hang. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "rtk/error.h"
#include "study.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size > 8192) return 0;             /* configurations are small; keep executions fast */
  if (memchr(data, 0, size)) return 0;   /* rtk_read_file refuses NUL bytes before parsing */
  char *buf = malloc(size + 1);
  if (!buf) return 0;
  memcpy(buf, data, size);
  buf[size] = '\0';
  char *sets = strstr(buf, "\n%%\n");
  if (sets) {
    *sets = '\0';
    sets += 4;
  }
  rtk_config cfg;
  rtk_study st;
  memset(&st, 0, sizeof st);
  int rc = rtk_config_parse(&cfg, "fuzz.ini", buf);
  for (int n = 0; !rc && sets && *sets && n < 16; n++) {
    char *nl = strchr(sets, '\n');
    if (nl) *nl = '\0';
    rc = rtk_config_set(&cfg, sets);
    sets = nl ? nl + 1 : NULL;
  }
  if (!rc && rtk_study_expand(&cfg, NULL, &st) == RTK_OK) {
    char hex[40];
    rtk_study_digest(&st, hex);
    for (int i = 0; i < st.nruns; i++)
      if (!st.runs[i].resolved || !st.runs[i].id[0]) abort(); /* every run resolved and named */
  }
  rtk_study_free(&st);
  rtk_config_free(&cfg);
  rtk_error_clear();
  free(buf);
  return 0;
}
