/* Option tables: one row per configuration key, with its type, default, range
 * and help text.  The same tables drive parsing/validation of the INI file,
 * `rtkbench list` and docs/config.md, so they cannot drift apart. */
#ifndef RTK_OPTIONS_H
#define RTK_OPTIONS_H
#include <stddef.h>
#include <stdint.h>

#define RTK_MAXLIST 4096
#define RTK_STRLEN 512

typedef enum { RTK_OPT_INT, RTK_OPT_REAL, RTK_OPT_BOOL, RTK_OPT_STR, RTK_OPT_ENUM, RTK_OPT_REALLIST } rtk_opt_type;

typedef struct rtk_reallist {
  int n;
  double v[RTK_MAXLIST];
} rtk_reallist;

typedef struct rtk_opt {
  const char *key;
  rtk_opt_type type;
  size_t offset;       /* field in the owning struct: int64_t, double, int (bool/enum), char[RTK_STRLEN], rtk_reallist */
  const char *def;     /* default, as text */
  double lo, hi;       /* inclusive range for INT/REAL and for REALLIST elements */
  const char *choices; /* "a|b|c" for ENUM */
  const char *help;
} rtk_opt;

#define RTK_OPT_END {0, 0, 0, 0, 0, 0, 0, 0}

const rtk_opt *rtk_opt_find(const rtk_opt *table, const char *key);
/* Parse text into obj's field; on failure return RTK_ERR_INPUT with a message
 * "invalid value 'x' for key 'k': why" (the caller adds file:line). */
int rtk_opt_parse(const rtk_opt *o, const char *text, void *obj);
int rtk_opt_set_defaults(const rtk_opt *table, void *obj);
/* Text form of o's current value in obj (for the resolved configuration). */
void rtk_opt_format(const rtk_opt *o, const void *obj, char *buf, size_t len);
/* "uniform|geometric|list" -> index, or -1 */
int rtk_enum_index(const char *choices, const char *text);
/* name of choice idx (static buffer per call site is not used: writes into buf) */
const char *rtk_enum_name(const char *choices, int idx, char *buf, size_t len);

#endif
