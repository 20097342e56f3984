#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <ini.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "rtk/error.h"

typedef struct {
  rtk_config *cfg;
  const char *pos; /* reader position in text */
  int line;        /* line number of the line the reader returned last */
  int too_long;    /* line number of an over-long line, or 0 */
  int open_section; /* line number of a "[name" without ']', or 0 */
  int err;         /* first handler error */
  char msg[768];
} parse_state;

/* Record a "[name]" header line: inih reports sections only through their
 * keys, and an empty, misspelled section must still be an error. */
static void note_section(parse_state *ps, const char *line) {
  while (*line == ' ' || *line == '\t') line++;
  if (*line != '[') return;
  const char *end = strchr(line, ']');
  if (!end) {
    if (!ps->open_section) ps->open_section = ps->line;
    return;
  }
  rtk_config *cfg = ps->cfg;
  if (cfg->nsec == cfg->capsec) {
    int cap = cfg->capsec ? 2 * cfg->capsec : 16;
    rtk_kv *v = realloc(cfg->sections, sizeof(rtk_kv) * cap);
    if (!v) return;
    cfg->sections = v;
    cfg->capsec = cap;
  }
  rtk_kv *sec = &cfg->sections[cfg->nsec++];
  memset(sec, 0, sizeof *sec);
  snprintf(sec->section, sizeof sec->section, "%.*s", (int)(end - line - 1), line + 1);
  snprintf(sec->origin, sizeof sec->origin, "%s:%d", cfg->path, ps->line);
}

/* ini_reader: hands inih one line at a time and counts lines, so the handler
 * knows where each key came from (the packaged inih is built without
 * INI_HANDLER_LINENO). */
static char *reader(char *str, int num, void *stream) {
  parse_state *ps = stream;
  if (!*ps->pos) return NULL;
  const char *nl = strchr(ps->pos, '\n');
  size_t len = nl ? (size_t)(nl - ps->pos) + 1 : strlen(ps->pos);
  ps->line++;
  if (len > (size_t)num - 1) {
    if (!ps->too_long) ps->too_long = ps->line;
    len = (size_t)num - 1;
    memcpy(str, ps->pos, len);
    str[len] = '\0';
    ps->pos = nl ? nl + 1 : ps->pos + strlen(ps->pos);
    return str;
  }
  memcpy(str, ps->pos, len);
  str[len] = '\0';
  ps->pos += len;
  note_section(ps, str);
  return str;
}

static int add(rtk_config *cfg, const char *section, const char *key, const char *value, const char *origin) {
  if (strlen(section) >= sizeof cfg->kv[0].section || strlen(key) >= sizeof cfg->kv[0].key)
    return RTK_ERR(RTK_ERR_INPUT, "%s: section or key name too long", origin);
  for (int i = 0; i < cfg->n; i++) {
    rtk_kv *kv = &cfg->kv[i];
    if (!strcmp(kv->section, section) && !strcmp(kv->key, key)) {
      if (strncmp(origin, "--set", 5) != 0)
        return RTK_ERR(RTK_ERR_INPUT, "%s: [%s] %s is already set at %s", origin, section, key, kv->origin);
      char *v = strdup(value);
      if (!v) return RTK_ERR(RTK_ERR_MEM, "out of memory");
      free(kv->value);
      kv->value = v;
      snprintf(kv->origin, sizeof kv->origin, "%s", origin);
      return RTK_OK;
    }
  }
  if (cfg->n == cfg->cap) {
    int cap = cfg->cap ? 2 * cfg->cap : 32;
    rtk_kv *kv = realloc(cfg->kv, sizeof(rtk_kv) * cap);
    if (!kv) return RTK_ERR(RTK_ERR_MEM, "out of memory");
    cfg->kv = kv;
    cfg->cap = cap;
  }
  rtk_kv *kv = &cfg->kv[cfg->n];
  memset(kv, 0, sizeof *kv);
  snprintf(kv->section, sizeof kv->section, "%s", section);
  snprintf(kv->key, sizeof kv->key, "%s", key);
  snprintf(kv->origin, sizeof kv->origin, "%s", origin);
  kv->value = strdup(value);
  if (!kv->value) return RTK_ERR(RTK_ERR_MEM, "out of memory");
  cfg->n++;
  return RTK_OK;
}

static int handler(void *user, const char *section, const char *name, const char *value) {
  parse_state *ps = user;
  if (ps->err) return 0;
  char origin[600];
  snprintf(origin, sizeof origin, "%s:%d", ps->cfg->path, ps->line);
  if (!section[0]) {
    ps->err = RTK_ERR(RTK_ERR_INPUT, "%s: key '%s' appears before any [section]", origin, name);
    return 0;
  }
  if (!name) return 1; /* bare section header (inih INI_CALL_HANDLER_ON_NEW_SECTION) */
  int rc = add(ps->cfg, section, name, value ? value : "", origin);
  if (rc) {
    ps->err = rc;
    return 0;
  }
  return 1;
}

int rtk_config_parse(rtk_config *cfg, const char *path, const char *text) {
  memset(cfg, 0, sizeof *cfg);
  snprintf(cfg->path, sizeof cfg->path, "%s", path);
  const char *base = strrchr(path, '/');
  base = base ? base + 1 : path;
  snprintf(cfg->stem, sizeof cfg->stem, "%s", base);
  char *dot = strrchr(cfg->stem, '.');
  if (dot && dot != cfg->stem) *dot = '\0';
  cfg->text = strdup(text);
  if (!cfg->text) return RTK_ERR(RTK_ERR_MEM, "out of memory");
  parse_state ps = {.cfg = cfg, .pos = text};
  int line = ini_parse_stream(reader, &ps, handler, &ps);
  if (ps.open_section) /* reported first: the keys after it are only a consequence */
    return RTK_ERR(RTK_ERR_INPUT, "%s:%d: section header without a closing ']'", path, ps.open_section);
  if (ps.err) return rtk_error_trace(ps.err, __FILE__, __LINE__, __func__);
  if (ps.too_long)
    return RTK_ERR(RTK_ERR_INPUT, "%s:%d: line too long for the INI parser (split long lists over [sweep] or shorten)", path, ps.too_long);
  if (line > 0)
    return RTK_ERR(RTK_ERR_INPUT, "%s:%d: syntax error (expected '[section]', 'key = value' or a comment)", path, line);
  if (line < 0) return RTK_ERR(RTK_ERR_IO, "%s: cannot parse", path);
  return RTK_OK;
}

int rtk_config_set(rtk_config *cfg, const char *assignment) {
  const char *eq = strchr(assignment, '='), *dot = strchr(assignment, '.');
  if (!eq || !dot || dot > eq || dot == assignment || dot + 1 == eq)
    return RTK_ERR(RTK_ERR_INPUT, "--set '%s': expected section.key=value", assignment);
  char section[64], key[64], origin[600];
  size_t ls = (size_t)(dot - assignment), lk = (size_t)(eq - dot - 1);
  if (ls >= sizeof section || lk >= sizeof key) return RTK_ERR(RTK_ERR_INPUT, "--set '%s': name too long", assignment);
  memcpy(section, assignment, ls);
  section[ls] = '\0';
  memcpy(key, dot + 1, lk);
  key[lk] = '\0';
  const char *value = eq + 1;
  while (*value == ' ') value++;
  snprintf(origin, sizeof origin, "--set %s.%s", section, key);
  return add(cfg, section, key, value, origin);
}

const rtk_kv *rtk_config_find(const rtk_config *cfg, const char *section, const char *key) {
  for (int i = 0; i < cfg->n; i++)
    if (!strcmp(cfg->kv[i].section, section) && !strcmp(cfg->kv[i].key, key)) return &cfg->kv[i];
  return NULL;
}

void rtk_config_free(rtk_config *cfg) {
  for (int i = 0; i < cfg->n; i++) free(cfg->kv[i].value);
  free(cfg->kv);
  free(cfg->sections);
  free(cfg->text);
  memset(cfg, 0, sizeof *cfg);
}

int rtk_read_file(const char *path, char **text) {
  /* O_NONBLOCK: opening a FIFO must not wait for a writer; the file must be
   * a regular file under RTK_CONFIG_MAX bytes (not a device or a pipe) */
  int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) return RTK_ERR(RTK_ERR_INPUT, "cannot read '%s': %s", path, strerror(errno));
  struct stat sb;
  if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
    close(fd);
    return RTK_ERR(RTK_ERR_INPUT, "cannot read '%s': not a regular file", path);
  }
  if (sb.st_size > RTK_CONFIG_MAX) {
    close(fd);
    return RTK_ERR(RTK_ERR_INPUT, "'%s' is %lld bytes; a configuration file may have at most %d", path,
                   (long long)sb.st_size, RTK_CONFIG_MAX);
  }
  char *buf = malloc((size_t)RTK_CONFIG_MAX + 2);
  if (!buf) {
    close(fd);
    return RTK_ERR(RTK_ERR_MEM, "out of memory");
  }
  size_t n = 0;
  int bad = 0;
  while (n <= (size_t)RTK_CONFIG_MAX) { /* read at most one byte past the cap (the file may grow) */
    ssize_t r = read(fd, buf + n, (size_t)RTK_CONFIG_MAX + 1 - n);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) bad = errno;
    if (r <= 0) break;
    n += (size_t)r;
  }
  close(fd);
  if (bad) {
    free(buf);
    return RTK_ERR(RTK_ERR_INPUT, "error reading '%s': %s", path, strerror(bad));
  }
  if (n > (size_t)RTK_CONFIG_MAX) {
    free(buf);
    return RTK_ERR(RTK_ERR_INPUT, "'%s' is larger than %d bytes, the limit of a configuration file", path, RTK_CONFIG_MAX);
  }
  const char *nul = memchr(buf, '\0', n);
  if (nul) {
    int line = 1;
    for (const char *p = buf; p < nul; p++) line += *p == '\n';
    free(buf);
    return RTK_ERR(RTK_ERR_INPUT, "%s:%d: NUL byte in the file (a configuration is text)", path, line);
  }
  buf[n] = '\0';
  *text = buf;
  return RTK_OK;
}
