/* Which BLAS runs the score kernel, and the right kernels on every CPU.
 *
 * rtk_blas_query() names the library that serves cblas_dgemm (the shared
 * object that dladdr finds for it), its version/configuration string, the
 * kernel set ("core") it picked and its thread count, asking OpenBLAS
 * (openblas_get_config, openblas_get_corename, openblas_get_num_threads) or
 * BLIS (bli_info_get_version_str, bli_arch_string, bli_thread_get_num_threads)
 * through dlsym, so the answer is the library actually loaded, whatever
 * CMake linked.
 *
 * rtk_blas_autofix() (called first thing in main, before MPI_Init and before
 * any BLAS call): a DYNAMIC_ARCH OpenBLAS that does not recognise a new CPU
 * falls back to old SSE kernels (e.g. "Prescott": 5-10x slower DGEMM).  If the
 * CPU has AVX2+FMA (or AVX-512F/BW/DQ/VL) but OpenBLAS runs a core below that,
 * the process re-executes itself once (/proc/self/exe, same argv) with
 * OPENBLAS_CORETYPE=Haswell (or SkylakeX), which OpenBLAS reads when it is
 * loaded.  RTK_BLAS_AUTOFIX=0 turns this off; RTK_BLAS_REEXEC marks the
 * re-executed process (never a second re-exec); RTK_BLAS_FAKE_CORENAME
 * pretends OpenBLAS picked that core (tests). */
#ifndef RTK_BLAS_H
#define RTK_BLAS_H

typedef struct rtk_blas_info {
  char library[32];  /* "OpenBLAS", "BLIS" or "unknown" */
  char version[256]; /* configuration/version string of the library ("" if unknown) */
  char core[64];     /* kernel set / architecture the library runs ("" if unknown) */
  char path[512];    /* shared object providing cblas_dgemm ("" if static or unknown) */
  int threads;       /* BLAS threads (-1 unknown) */
  char cpu[32];      /* the CPU's vector ISA as this process sees it: "avx512", "avx2", "sse2", "other" */
  char autofix[192]; /* what rtk_blas_autofix did ("" = nothing), e.g. "OPENBLAS_CORETYPE=SkylakeX (was Prescott)" */
} rtk_blas_info;

void rtk_blas_query(rtk_blas_info *out);
/* one line: "OpenBLAS 0.3.21 ... , core SkylakeX, 1 thread" */
void rtk_blas_line(const rtk_blas_info *b, char *buf, int len);

/* The core to switch to, or NULL: OpenBLAS core name `core` on a CPU of
 * vector ISA `cpu` ("avx512", "avx2", ...).  Pure; tested in test_core. */
const char *rtk_blas_better_core(const char *core, const char *cpu);

/* May not return (execv).  `verbose`: print the one-line notice on stderr (the
 * caller passes "this is rank 0", guessed from the launcher's environment). */
void rtk_blas_autofix(char **argv, int verbose);
/* rank 0 of an MPI launch (or no launcher), from the environment, before MPI_Init */
int rtk_blas_launch_rank0(void);

#endif
