/* PETSc-style error handling: every fallible call returns an int code; the
 * RTK_CHECK macro appends file:line context as the error travels up, so the
 * message printed at the top names where it started and the path it took. */
#ifndef RTK_ERROR_H
#define RTK_ERROR_H

enum rtk_errcode {
  RTK_OK = 0,
  RTK_ERR_RUNTIME = 1,   /* internal / numerical failure      -> exit 1 */
  RTK_ERR_INPUT = 2,     /* bad configuration or command line  -> exit 2 */
  RTK_ERR_MEM = 3,       /* allocation failure                 -> exit 1 */
  RTK_ERR_IO = 4,        /* file system / HDF5 failure         -> exit 1 */
  RTK_ERR_INTERRUPTED = 5 /* stopped by a signal (walltime)    -> exit 3 */
};

int rtk_error_set(int code, const char *file, int line, const char *func,
                  const char *fmt, ...) __attribute__((format(printf, 5, 6)));
int rtk_error_trace(int code, const char *file, int line, const char *func);
const char *rtk_error_message(void);   /* the first (root-cause) message */
const char *rtk_error_traceback(void); /* "  at func (file:line)" lines */
void rtk_error_clear(void);
int rtk_exit_code(int code);           /* map an error code to a process exit code */

#define RTK_ERR(code, ...) rtk_error_set((code), __FILE__, __LINE__, __func__, __VA_ARGS__)
#define RTK_CHECK(expr)                                                       \
  do {                                                                        \
    int rtk_e_ = (expr);                                                      \
    if (rtk_e_) return rtk_error_trace(rtk_e_, __FILE__, __LINE__, __func__); \
  } while (0)
/* allocate n elements of *p or fail with RTK_ERR_MEM */
#define RTK_MALLOC(p, n)                                                           \
  do {                                                                             \
    size_t rtk_n_ = (size_t)(n);                                                   \
    (p) = calloc(rtk_n_ ? rtk_n_ : 1, sizeof(*(p)));                               \
    if (!(p)) return RTK_ERR(RTK_ERR_MEM, "out of memory (%zu elements)", rtk_n_); \
  } while (0)

#endif
