/* Deterministic vector math: SLEEF's "cinz" functions (no FMA), which return
 * the same bits for the same input in their scalar (purec) and in every vector
 * version (SSE2, AVX, AVX-512F), so results never depend on the instruction
 * set the dispatcher picks (docs/design.md, "Vector math").
 *
 * Elementwise, position independent: y[i] depends only on x[i], never on n,
 * on i or on the vector width (tails are padded to a full vector). */
#ifndef RTK_VMATH_H
#define RTK_VMATH_H
#include <stddef.h>

enum rtk_vm_version { RTK_VM_PUREC = 0, RTK_VM_SSE2, RTK_VM_AVX, RTK_VM_AVX512F, RTK_VM_NISA };

/* y[i] = e^{x[i]} (SLEEF cinz expd, 1.0 ulp); x may alias y */
void rtk_vm_exp(size_t n, const double *x, double *y);
/* Box-Muller on pairs (the philox4x64 normals; philox4x32's have their own, src/core/bm32.h):
 * r = sqrt(-2 ln u[i]) (cinz logd, 3.5 ulp);
 * zc[i] = r cos(pi h[i]), zs[i] = r sin(pi h[i]) (cinz sincospid, 3.5 ulp); u in (0, 1] */
void rtk_vm_box_muller(size_t n, const double *u, const double *h, double *zc, double *zs);

const char *rtk_vm_isa_name(int isa);  /* "purec", "sse2", "avx", "avx512f" */
int rtk_vm_isa_available(int isa);     /* compiled in and supported by this CPU and OS */
/* The version in use: the widest available one, or the one named by the
 * environment variable RTK_VMATH_ISA (a name above) when that is available. */
int rtk_vm_isa(void);
/* tests and benchmarks: use `isa` from now on (-1: back to automatic).
 * Returns 0, or -1 (and changes nothing) when it is not available. */
int rtk_vm_set_isa(int isa);

#endif
