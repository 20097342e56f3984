/* INI configuration (libinih) kept as a flat list of (section, key, value,
 * origin) so every later error can name the file and line it came from. */
#ifndef RTK_APP_CONFIG_H
#define RTK_APP_CONFIG_H

typedef struct rtk_kv {
  char section[64];
  char key[64];
  char *value;
  char origin[600]; /* "study.ini:12" or "--set run.seed" */
} rtk_kv;

typedef struct rtk_config {
  char path[512]; /* the file name as given */
  char stem[128]; /* basename without .ini: default output name */
  char *text;     /* the file's text as read */
  rtk_kv *kv;
  int n, cap;
  rtk_kv *sections; /* every [section] header (key empty), so empty sections are checked too */
  int nsec, capsec;
} rtk_config;

/* Parse INI text read from `path` (text may come from an MPI broadcast). */
int rtk_config_parse(rtk_config *cfg, const char *path, const char *text);
/* Apply "section.key=value" from the command line (replaces earlier values). */
int rtk_config_set(rtk_config *cfg, const char *assignment);
const rtk_kv *rtk_config_find(const rtk_config *cfg, const char *section, const char *key);
void rtk_config_free(rtk_config *cfg);
/* largest configuration file accepted */
#define RTK_CONFIG_MAX (1 << 20)
/* read a whole regular file (at most RTK_CONFIG_MAX bytes, no NUL bytes)
 * into a malloc'd NUL-terminated buffer */
int rtk_read_file(const char *path, char **text);

#endif
