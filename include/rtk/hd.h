/* RTK_HD: functions defined once in a header and compiled by both the C
 * compiler (host code of the cpu backend) and nvcc (device code of the cuda
 * backend).  "Write each update once": a per-particle or per-coordinate update
 * lives in an RTK_HD static inline function (include/rtk/update.h); each
 * backend supplies only the loop over particles (a C loop, a CUDA grid). */
#ifndef RTK_HD_H
#define RTK_HD_H
#ifdef __CUDACC__
#define RTK_HD __host__ __device__
#else
#define RTK_HD
#endif
#endif
