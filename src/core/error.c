#include "rtk/error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static _Thread_local char err_msg[1024];
static _Thread_local char err_trace[2048];

static void append_frame(const char *file, int line, const char *func) {
  size_t n = strlen(err_trace);
  if (n + 8 < sizeof err_trace)
    snprintf(err_trace + n, sizeof err_trace - n, "  at %s (%s:%d)\n", func, file, line);
}

int rtk_error_set(int code, const char *file, int line, const char *func, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(err_msg, sizeof err_msg, fmt, ap);
  va_end(ap);
  err_trace[0] = '\0';
  append_frame(file, line, func);
  return code;
}

int rtk_error_trace(int code, const char *file, int line, const char *func) {
  if (!err_msg[0]) snprintf(err_msg, sizeof err_msg, "error code %d", code);
  append_frame(file, line, func);
  return code;
}

const char *rtk_error_message(void) { return err_msg; }
const char *rtk_error_traceback(void) { return err_trace; }

void rtk_error_clear(void) {
  err_msg[0] = '\0';
  err_trace[0] = '\0';
}

int rtk_exit_code(int code) {
  switch (code) {
    case RTK_OK: return 0;
    case RTK_ERR_INPUT: return 2;
    case RTK_ERR_INTERRUPTED: return 3;
    default: return 1;
  }
}
