#include <stdint.h>
#include <string.h>
#include <math.h>
#include <immintrin.h>
#include <sleef.h>
#define N 128
extern double buf[N];
extern uint64_t raw[N];
static inline double u01(uint64_t x) { return ((double)(x >> 11) + 0.5) * 0x1.0p-53; }
