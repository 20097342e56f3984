/* the versions of the vector math (src/core/vmath*.c); internal to rtkcore */
#ifndef RTK_VMATH_ISA_H
#define RTK_VMATH_ISA_H
#include <stddef.h>

#define RTK_VM_DECLARE(sfx)                                                                    \
  void rtk_vm_exp_##sfx(size_t n, const double *x, double *y);                                 \
  void rtk_vm_box_muller_##sfx(size_t n, const double *u, const double *h, double *zc, double *zs);
RTK_VM_DECLARE(purec)
RTK_VM_DECLARE(sse2)
RTK_VM_DECLARE(avx)
RTK_VM_DECLARE(avx512f)
#undef RTK_VM_DECLARE

#endif
