/* One vector-math version, included by vmath.c (purec, sse2) and by
 * vmath_avx.c / vmath_avx512.c, which are compiled with -mavx / -mavx512f.
 * The includer defines
 *   VM_SUFFIX                        name suffix of the two functions
 *   VM_W, VM_T                       lanes and vector type
 *   VM_LOAD, VM_STORE, VM_SET1       unaligned load/store, broadcast
 *   VM_MUL, VM_SQRT                  IEEE multiply and square root
 *   VM_EXP, VM_LOG, VM_SINCOSPI      SLEEF cinz functions (.x = sin, .y = cos)
 *   VM_T2                            SLEEF's pair type for VM_SINCOSPI
 * Multiply and square root are correctly rounded in every version, and the
 * SLEEF cinz functions return the same bits in every version, so an element's
 * result does not depend on the version or on its position. */
#include <string.h>

#define VM_CAT2(a, b) a##b
#define VM_CAT(a, b) VM_CAT2(a, b)

void VM_CAT(rtk_vm_exp_, VM_SUFFIX)(size_t n, const double *x, double *y) {
  size_t i = 0;
  for (; i + VM_W <= n; i += VM_W) VM_STORE(y + i, VM_EXP(VM_LOAD(x + i)));
  if (i < n) { /* the tail: padded to a full vector, so computed as any other element */
    double a[VM_W], b[VM_W];
    const size_t m = n - i;
    for (size_t j = 0; j < VM_W; j++) a[j] = j < m ? x[i + j] : 0.0;
    VM_STORE(b, VM_EXP(VM_LOAD(a)));
    memcpy(y + i, b, sizeof(double) * m);
  }
}

static inline void VM_CAT(bm_, VM_SUFFIX)(const double *u, const double *h, double *zc, double *zs) {
  const VM_T r = VM_SQRT(VM_MUL(VM_SET1(-2.0), VM_LOG(VM_LOAD(u))));
  const VM_T2 sc = VM_SINCOSPI(VM_LOAD(h));
  VM_STORE(zc, VM_MUL(r, sc.y));
  VM_STORE(zs, VM_MUL(r, sc.x));
}

void VM_CAT(rtk_vm_box_muller_, VM_SUFFIX)(size_t n, const double *u, const double *h, double *zc, double *zs) {
  size_t i = 0;
  for (; i + VM_W <= n; i += VM_W) VM_CAT(bm_, VM_SUFFIX)(u + i, h + i, zc + i, zs + i);
  if (i < n) {
    double a[VM_W], b[VM_W], c[VM_W], s[VM_W];
    const size_t m = n - i;
    for (size_t j = 0; j < VM_W; j++) {
      a[j] = j < m ? u[i + j] : 0.5;
      b[j] = j < m ? h[i + j] : 0.5;
    }
    VM_CAT(bm_, VM_SUFFIX)(a, b, c, s);
    memcpy(zc + i, c, sizeof(double) * m);
    memcpy(zs + i, s, sizeof(double) * m);
  }
}

#undef VM_CAT
#undef VM_CAT2
