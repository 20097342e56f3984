#include "rtk/options.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "rtk/error.h"

const rtk_opt *rtk_opt_find(const rtk_opt *table, const char *key) {
  for (const rtk_opt *o = table; o && o->key; o++)
    if (!strcmp(o->key, key)) return o;
  return NULL;
}

int rtk_enum_index(const char *choices, const char *text) {
  int idx = 0;
  size_t tl = strlen(text);
  for (const char *p = choices; *p; idx++) {
    const char *bar = strchr(p, '|');
    size_t len = bar ? (size_t)(bar - p) : strlen(p);
    if (len == tl && !strncmp(p, text, len)) return idx;
    if (!bar) break;
    p = bar + 1;
  }
  return -1;
}

const char *rtk_enum_name(const char *choices, int idx, char *buf, size_t len) {
  const char *p = choices;
  for (int i = 0; i < idx && p; i++) {
    p = strchr(p, '|');
    if (p) p++;
  }
  if (!p) {
    snprintf(buf, len, "?");
    return buf;
  }
  const char *bar = strchr(p, '|');
  size_t n = bar ? (size_t)(bar - p) : strlen(p);
  snprintf(buf, len, "%.*s", (int)n, p);
  return buf;
}

static int parse_real(const char *s, double *out) {
  char *end;
  errno = 0;
  double v = strtod(s, &end);
  while (isspace((unsigned char)*end)) end++;
  if (end == s || *end || errno == ERANGE || !isfinite(v)) return -1;
  *out = v;
  return 0;
}

static int parse_int(const char *s, int64_t *out) {
  char *end;
  errno = 0;
  long long v = strtoll(s, &end, 10);
  /* accept integral reals written like 1e6 */
  if (*end == 'e' || *end == 'E' || *end == '.') {
    double r;
    if (parse_real(s, &r) || r != floor(r) || fabs(r) > 9.0e18) return -1;
    *out = (int64_t)r;
    return 0;
  }
  while (isspace((unsigned char)*end)) end++;
  if (end == s || *end || errno == ERANGE) return -1;
  *out = v;
  return 0;
}

static int bad(const rtk_opt *o, const char *text, const char *why) {
  return RTK_ERR(RTK_ERR_INPUT, "invalid value '%s' for key '%s': %s", text, o->key, why);
}

int rtk_opt_parse(const rtk_opt *o, const char *text, void *obj) {
  char *field = (char *)obj + o->offset;
  char why[256];
  switch (o->type) {
    case RTK_OPT_INT: {
      int64_t v;
      if (parse_int(text, &v)) return bad(o, text, "expected an integer");
      if (v < o->lo || v > o->hi) {
        snprintf(why, sizeof why, "must be in [%.17g, %.17g]", o->lo, o->hi);
        return bad(o, text, why);
      }
      *(int64_t *)field = v;
      return RTK_OK;
    }
    case RTK_OPT_REAL: {
      double v;
      if (parse_real(text, &v)) return bad(o, text, "expected a finite number");
      if (v < o->lo || v > o->hi) {
        snprintf(why, sizeof why, "must be in [%g, %g]", o->lo, o->hi);
        return bad(o, text, why);
      }
      *(double *)field = v;
      return RTK_OK;
    }
    case RTK_OPT_BOOL: {
      if (!strcasecmp(text, "true") || !strcasecmp(text, "yes") || !strcasecmp(text, "on") || !strcmp(text, "1"))
        *(int *)field = 1;
      else if (!strcasecmp(text, "false") || !strcasecmp(text, "no") || !strcasecmp(text, "off") || !strcmp(text, "0"))
        *(int *)field = 0;
      else
        return bad(o, text, "expected true or false");
      return RTK_OK;
    }
    case RTK_OPT_STR:
      if (strlen(text) >= RTK_STRLEN) return bad(o, text, "too long");
      snprintf(field, RTK_STRLEN, "%s", text);
      return RTK_OK;
    case RTK_OPT_ENUM: {
      int idx = rtk_enum_index(o->choices, text);
      if (idx < 0) {
        snprintf(why, sizeof why, "expected one of %s", o->choices);
        return bad(o, text, why);
      }
      *(int *)field = idx;
      return RTK_OK;
    }
    case RTK_OPT_REALLIST: {
      rtk_reallist *l = (rtk_reallist *)field;
      char buf[8192];
      if (strlen(text) >= sizeof buf) return bad(o, text, "list too long");
      snprintf(buf, sizeof buf, "%s", text);
      l->n = 0;
      for (char *save = NULL, *tok = strtok_r(buf, ", \t", &save); tok; tok = strtok_r(NULL, ", \t", &save)) {
        double v;
        if (l->n >= RTK_MAXLIST) return bad(o, text, "too many elements");
        if (parse_real(tok, &v)) return bad(o, text, "expected a comma-separated list of numbers");
        if (v < o->lo || v > o->hi) {
          snprintf(why, sizeof why, "elements must be in [%g, %g]", o->lo, o->hi);
          return bad(o, text, why);
        }
        l->v[l->n++] = v;
      }
      return RTK_OK;
    }
  }
  return RTK_ERR(RTK_ERR_RUNTIME, "option '%s' has an unknown type", o->key);
}

int rtk_opt_set_defaults(const rtk_opt *table, void *obj) {
  for (const rtk_opt *o = table; o && o->key; o++) RTK_CHECK(rtk_opt_parse(o, o->def, obj));
  return RTK_OK;
}

void rtk_opt_format(const rtk_opt *o, const void *obj, char *buf, size_t len) {
  const char *field = (const char *)obj + o->offset;
  switch (o->type) {
    case RTK_OPT_INT: snprintf(buf, len, "%lld", (long long)*(const int64_t *)field); break;
    case RTK_OPT_REAL: snprintf(buf, len, "%.17g", *(const double *)field); break;
    case RTK_OPT_BOOL: snprintf(buf, len, "%s", *(const int *)field ? "true" : "false"); break;
    case RTK_OPT_STR: snprintf(buf, len, "%s", field); break;
    case RTK_OPT_ENUM: rtk_enum_name(o->choices, *(const int *)field, buf, len); break;
    case RTK_OPT_REALLIST: {
      const rtk_reallist *l = (const rtk_reallist *)field;
      size_t used = 0;
      buf[0] = '\0';
      for (int i = 0; i < l->n && used + 32 < len; i++)
        used += (size_t)snprintf(buf + used, len - used, "%s%.17g", i ? ", " : "", l->v[i]);
      break;
    }
  }
}
