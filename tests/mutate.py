#!/usr/bin/python3
"""Mutation check of the test suite (not part of CI; see tests/README.md).

Each entry of CATALOGUE is one realistic one-line bug in the numerical core,
the samplers or the driver.  The script copies the working tree (tracked and
untracked, not ignored files) to a scratch directory, builds it once, checks
that the fast tests pass there, and then for each mutant: applies it to the
scratch copy (never to the working tree), rebuilds, runs the fast tests
(stopping at the first failure) and restores the file.  A mutant is *killed*
when a test fails, *survives* when all pass, and is *stillborn* when it does
not compile (not counted).  It prints one line per mutant and the kill rate.

  /usr/bin/python3 tests/mutate.py [--only ID,ID] [--tests REGEX] [--jobs N]
                                   [--keep] [--list] [--report FILE]

Every `find` string must occur exactly once in its file, so the catalogue
fails loudly when the code it mutates changes.
"""
import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

# the fast tests, run one at a time, cheapest first, stopping at the first
# failure: every unit/statistical test of the core, then the three quick MPI
# studies that go through the driver and are checked by tests/h5verify.py
FAST = ["core." + t for t in
        ["grid", "rng", "score_fd", "score_far", "segment_start", "plan_formulas", "nfe_accounting", "exact_accuracy",
         "ode_order", "moment_kl", "block_invariance", "gemm_tiles", "mala_subproblem", "moments", "ddpm_gaussian",
         "mala_score_subproblem", "uld_ar", "pmm_lmc", "adaptive_projected", "langevin_subproblem",
         "gaussian_convergence", "quantise"]] + ["vmath." + t for t in ["isa_bitwise", "prefix", "accuracy", "normal_dist"]] + \
       ["mpi.quickstart", "mpi.mog_random", "mpi.hard_kill_resume"]

# (id, file, find, replace, what the bug is)
CATALOGUE = [
    # ---- mixture kernel and exact quantities (src/core/mixture.c)
    ("mix-logdet", "src/core/mixture.c", "acc -= 0.5 * (LOG_2PI + log(lam) + mk * mk / lam);",
     "acc -= 0.5 * (LOG_2PI + mk * mk / lam);", "log-density normaliser drops log det (unequal variances)"),
    ("mix-lse-shift", "src/core/mixture.c", "for (int k = 0; k < K; k++) Lb[k] -= m[q];",
     "for (int k = 0; k < K; k++) Lb[k] -= q == 2 ? 0 : m[q];", "log-sum-exp without the max shift (the third row of every four)"),
    ("mix-rows4-sum", "src/core/mixture.c", "s[1] += L1[k];", "s[1] += L0[k];",
     "the four rows' sums side by side: the second row is normalised by the first row's sum"),
    ("mix-exp-count", "src/core/mixture.c", "rtk_vm_exp((size_t)n * K, w->L, w->L);",
     "rtk_vm_exp((size_t)(n - 1) * K, w->L, w->L);", "the block's last row is not exponentiated"),
    ("mix-logp-max", "src/core/mixture.c", "if (logp) logp[b + q] = w->rmax[b + q] + log(s[q]);",
     "if (logp) logp[b + q] = log(s[q]);", "log p forgets the shift"),
    # ---- random numbers and vector math (src/core/rng.c, src/core/vmath*.{c,h})
    ("rng-angle", "src/core/rng.c", "h[2 * c] = u02(r.v[1]);", "h[2 * c] = u01(r.v[1]);",
     "Box-Muller angle only in (0, pi) for the first pair of each chunk"),
    ("rng-chunk", "src/core/rng.c", "(uint64_t)(i0 / 4 + c));", "(uint64_t)c);",
     "every 64-normal pass repeats the first 16 Philox blocks"),
    ("rng-odd-tail", "src/core/rng.c", "if (m % 2) o[m - 1] = zc[(m + 1) / 2 - 1];", "if (m % 2) o[m - 1] = zs[(m + 1) / 2 - 1];",
     "odd count: the last normal is the sine of its pair"),
    ("vm-radius", "src/core/vmath_impl.h", "VM_SQRT(VM_MUL(VM_SET1(-2.0), VM_LOG(VM_LOAD(u))))",
     "VM_SQRT(VM_MUL(VM_SET1(-1.9), VM_LOG(VM_LOAD(u))))", "Box-Muller radius 5 % too small"),
    ("vm-tail", "src/core/vmath_impl.h", "for (size_t j = 0; j < VM_W; j++) a[j] = j < m ? x[i + j] : 0.0;",
     "for (size_t j = 0; j < VM_W; j++) a[j] = j + 1 < m ? x[i + j] : 0.0;", "exp of a vector tail drops its last element"),
    ("mix-score-sign", "src/core/mixture.c", "for (size_t i = 0; i < nd; i++) score[i] -= X[i] * w->X2[i];",
     "for (size_t i = 0; i < nd; i++) score[i] += X[i] * w->X2[i];", "sign of the x/lam term of the score"),
    ("mix-sigma2", "src/core/mixture.c", "double rtk_sigma2(double t) { return -expm1(-2.0 * t); }",
     "double rtk_sigma2(double t) { return -expm1(-t); }", "sigma_t^2 = 1 - e^{-t}"),
    ("mix-sample-var", "src/core/mixture.c", "x[j] = a * m->mu[i] + sqrt(a * a * m->var[i] + s2) * x[j];",
     "x[j] = a * m->mu[i] + sqrt(m->var[i] + s2) * x[j];", "exact samples: variance not scaled by alpha^2"),
    ("mix-sample-weights", "src/core/mixture.c", "double cum = m->w[0];", "double cum = m->w[K - 1];",
     "exact samples: component chosen with the wrong weight"),
    ("mix-cdf-sd", "src/core/mixture.c",
     "const double w = m->w[k], sd = sqrt(a * a * m->var[ki] + s2);",
     "const double w = m->w[k], sd = (a * a * m->var[ki] + s2);",
     "marginal CDF divides by the variance"),
    ("mix-range", "src/core/mixture.c", "if (mk + nsd * sd > *hi) *hi = mk + nsd * sd;",
     "if (mk + nsd * sd > *hi) *hi = mk + sd;", "histogram upper range"),
    ("mix-cov", "src/core/mixture.c",
     "s += m->w[k] * (a * mk[i] * a * mk[j] + (i == j ? a * a * m->var[(size_t)k * d + i] + s2 : 0));",
     "s += m->w[k] * (a * mk[i] * a * mk[j] + (i == j ? a * a * m->var[(size_t)k * d + i] : 0));",
     "exact covariance forgets sigma_t^2"),
    ("mix-argmax-min", "src/core/mixture.c", "for (int k = 1; k < K; k++)\n        if (Lb[k] > Lb[best])",
     "for (int k = 2; k < K; k++)\n        if (Lb[k] > Lb[best])", "mode assignment skips component 1"),
    # ---- metrics (src/core/metrics.c)
    ("met-bin", "src/core/metrics.c", "int b = 1 + (int)vc;", "int b = (int)vc;",
     "histogram bins shifted by one"),
    ("met-upper-tail", "src/core/metrics.c", "p[nb + 1] = 1 - prev;", "p[nb + 1] = 0;",
     "upper tail bin probability dropped"),
    ("met-mode-tv", "src/core/metrics.c", "return 0.5 * s;\n}\n\nvoid rtk_random_directions",
     "return s;\n}\n\nvoid rtk_random_directions", "mode TV off by a factor 2"),
    ("met-floor", "src/core/metrics.c", "sum_floor += 0.5 * fl;", "sum_floor += fl;", "noise floor doubled"),
    ("met-mad", "src/core/metrics.c", "double v = floor(n * p) + 1;", "double v = floor(n * p);",
     "De Moivre's formula off by one"),
    ("met-lin-se", "src/core/metrics.c", "return var > 0 ? sqrt(var / N) / (2.0 * d) : 0;",
     "return var > 0 ? sqrt(var / N) / d : 0;", "linearised SE twice too large"),
    ("met-signs", "src/core/metrics.c", "sign[i] = (signed char)(diff > 0 ? 1 : diff < 0 ? -1 : 0);",
     "sign[i] = (signed char)(diff > 0 ? 1 : 0);", "linearised SE: negative signs lost"),
    ("met-proj-var", "src/core/metrics.c", "b += u[j] * u[j] * v[j];", "b += u[j] * v[j];",
     "projected mixture variance"),
    ("met-mean-err", "src/core/metrics.c", "    em += (mi - mean[i]) * (mi - mean[i]);",
     "    em += fabs(mi - mean[i]);", "mean error: 1-norm instead of 2-norm"),
    ("met-kl-floor", "src/core/metrics.c", "floor += q1 / 2 + q2 / 4;", "floor += q1 / 2 + q2 / 2;",
     "moment KL floor"),
    ("met-mu4", "src/core/metrics.c", "q += m->w[k] * (dk * dk * dk * dk + 6 * dk * dk * sk + 3 * sk * sk);",
     "q += m->w[k] * (dk * dk * dk * dk + 6 * dk * dk * sk + sk * sk);", "fourth central moment"),
    # ---- samplers (src/samplers)
    ("ddpm-drift", "include/rtk/update.h", "c.b = euler ? 2 * h : 2 * expm1(h);", "c.b = euler ? 2 * h : expm1(h);",
     "DDPM score coefficient halved"),
    ("ddpm-noise", "include/rtk/update.h", "c.sd = euler ? sqrt(2 * h) : sqrt(expm1(2 * h));",
     "c.sd = euler ? sqrt(2 * h) : sqrt(expm1(h));", "DDPM noise variance"),
    ("ode-x0", "include/rtk/update.h", "{ return (x + c->st2 * s) / c->at; }",
     "{ return (x + sqrt(c->st2) * s) / c->at; }", "denoiser uses sigma instead of sigma^2"),
    ("dpm-c1", "src/samplers/sampler_ode.c", "c1 = 1 + 1 / (2 * r);", "c1 = 1 + 1 / r;",
     "DPM-Solver++(2M) multistep weight"),
    ("pmm-coin", "src/samplers/sampler_pmm.c", "RTK_RNG_AUX) * K < 1)", "RTK_RNG_AUX) * K < 2)",
     "PMM midpoint probability 2/K"),
    ("pmm-corr", "src/samplers/sampler_pmm.c", "c[j] += eta * K * (y[j] + 2 * s[j] - bn[j]);",
     "c[j] += eta * (y[j] + 2 * s[j] - bn[j]);", "PMM correction not scaled by K"),
    ("rtk-mh-sign", "include/rtk/update.h", "return -dg - bwd / (4 * tau) + fwd / (4 * tau);",
     "return -dg + bwd / (4 * tau) - fwd / (4 * tau);", "MALA proposal ratio inverted"),
    ("rtk-grad", "include/rtk/update.h", "#define RTK_SEG_GRAD(s, r, e, q) (-(s) - (e) * (r) / (q))",
     "#define RTK_SEG_GRAD(s, r, e, q) (-(s) - (r) / (q))", "segment gradient misses e^{-h}"),
    ("rtk-energy", "include/rtk/update.h", "#define RTK_SEG_QUAD(quad, q) ((quad) / (2 * (q)))",
     "#define RTK_SEG_QUAD(quad, q) ((quad) / (q))", "segment energy quadratic term doubled"),
    ("rtk-init-ddpm", "src/samplers/sampler_rtk.c", "z[j] = eh * x[j] + (have_score ? b * s[j] : 0) + sd * w->xi[j];",
     "z[j] = eh * x[j] + sd * w->xi[j];", "init=ddpm start without the score term"),
    ("rtk-radius-asym", "src/samplers/sampler_rtk.c", "dist += step * step;", "dist += sq * w->xi[j] * sq * w->xi[j];",
     "projected MALA measures the noise only (asymmetric)"),
    ("rtk-radius-nfe", "src/samplers/sampler_rtk.c",
     "st->nfe[k] += (int64_t)npass * (1 + (kind == IN_MALA_SCORE ? quad_extra(ctx->cfg) : 0));",
     "st->nfe[k] += (int64_t)n * (1 + (kind == IN_MALA_SCORE ? quad_extra(ctx->cfg) : 0));",
     "radius rejections counted as evaluations"),
    ("rtk-uld-noise", "include/rtk/update.h", "*v = *v * c->E - omE / gam * grad + c->sv * xi;",
     "*v = *v * c->E - omE / gam * grad + c->sv * xi2;", "ULD velocity noise not correlated with z's"),
    ("rtk-uld-a1", "include/rtk/update.h", "c.a1 = cz / sqrt(vv);", "c.a1 = cz / vv;",
     "ULD z-v covariance coefficient"),
    ("rtk-simpson", "include/rtk/update.h", "rule == 1 ? (e0 + e1) / 6 : 0;",
     "rule == 1 ? (e0 + e1) / 3 : 0;", "Simpson endpoint weights"),
    ("rtk-ula-noise", "src/samplers/sampler_rtk.c", "const double sq = sqrt(2 * tau);\n",
     "const double sq = sqrt(tau);\n", "ULA noise variance tau instead of 2 tau"),
    ("rtk-L-time", "src/samplers/sampler_rtk.c", "const double L = 1.0 / min_lambda(mix, p->times[k + 1])",
     "const double L = 1.0 / min_lambda(mix, p->times[k])", "step scale from the wrong end of the segment"),
    ("rtk-dual-avg", "include/rtk/update.h", "+ (target - a) / (t + t0);", "+ (a - target) / (t + t0);",
     "dual averaging pushes the wrong way"),
    ("rtk-have-score", "src/samplers/sampler_rtk.c", "have_score = mala; /*", "have_score = 0; /*",
     "MALA pays the init=ddpm score in every segment"),
    # ---- driver (src/app)
    ("app-ci", "src/app/study.c", "mr.accuracy - 1.96 * acc_se, mr.accuracy + 1.96 * acc_se",
     "mr.accuracy - 1.645 * acc_se, mr.accuracy + 1.645 * acc_se", "accuracy interval multiplier"),
    ("app-mode-ci", "src/app/study.c", "mode_tv - 1.96 * mode_se, mode_tv + 1.96 * mode_se",
     "mode_tv - 1.96 * acc_se, mode_tv + 1.96 * acc_se", "mode TV interval from the wrong SE"),
    ("app-mode-se", "src/app/study.c", "mode_se = rtk_tv_lin_se(lin[2], lin[3], N, 1);",
     "mode_se = rtk_tv_lin_se(lin[2], lin[3], N, d);", "mode TV SE divided by d"),
    ("app-mode-u2", "src/app/study.c", "        lin[3] += u * u * rd.modes[k];\n", "        lin[3] += u * rd.modes[k];\n",
     "mode TV SE: sum of u, not u^2"),
    ("app-status", "src/app/verify.c", "if (strcmp(status, \"complete\")) {", "if (!status[0]) {",
     "resume keeps any run with a status"),
    ("app-status-running", "src/app/verify.c", "if (strcmp(status, \"complete\")) {",
     "if (!strcmp(status, \"running\")) {", "resume keeps runs whose status is not 'running'"),
    ("app-resume-mode", "src/app/study.c", "rtk_h5_read_scalar(m, \"mode_tv\"), rtk_h5_read_scalar(m, \"acceptance_overall\")",
     "rtk_h5_read_scalar(m, \"mode_tv_se\"), rtk_h5_read_scalar(m, \"acceptance_overall\")",
     "summary after resume shows the wrong mode TV"),
    ("app-resume-row", "src/app/study.c", "previous_run(f, out, &st->runs[i], &res[i], &complete[i])",
     "previous_run(f, out, &st->runs[i], &res[i ? i - 1 : 0], &complete[i])",
     "summary after resume: a run's numbers in another run's row"),
    ("app-modes-reduce", "src/app/study.c", "MPI_Allreduce(MPI_IN_PLACE, rd.modes, K, MPI_INT64_T, MPI_SUM, comm);",
     "MPI_Allreduce(MPI_IN_PLACE, rd.modes, K, MPI_INT64_T, MPI_MAX, comm);", "mode counts reduced with MAX"),
    ("app-argmax-time", "src/app/study.c", "rtk_mixcoef_set_time(rd->mix, rd->plan.times[rd->plan.nseg], &coef);",
     "rtk_mixcoef_set_time(rd->mix, rd->plan.times[0], &coef);", "modes assigned at T instead of delta"),
    ("diag-slice-time", "src/app/diagnostics.c", "RTK_CHECK(rtk_hist_init(g->smix, plan->times[S], nb, o->range_sd, &g->sh));",
     "RTK_CHECK(rtk_hist_init(g->smix, plan->times[0], nb, o->range_sd, &g->sh));", "sliced histograms ranged at T"),
    ("diag-moment-time", "src/app/diagnostics.c",
     "rtk_moment_errors(mix, plan->times[plan->nseg], N, g->full_cov, g->m1, g->m2, &me, &ce);",
     "rtk_moment_errors(mix, plan->times[0], N, g->full_cov, g->m1, g->m2, &me, &ce);", "moment errors against p_T"),
    ("diag-bnd-level", "src/app/diagnostics.c", "fl[k] = 1 - r.noise_floor;", "fl[k] = r.noise_floor;",
     "boundary exact level"),
    ("info-json-mode", "src/app/info.c", "json_num(o, \"mode_tv\", mode, 0);", "json_num(o, \"mode_tv\", excess, 0);",
     "info --json reports excess as mode TV"),
    ("info-floor", "src/app/info.c", "nfe, N, dim, acc, 1 - floor_, mode, accept, wall, s->verify",
     "nfe, N, dim, acc, floor_, mode, accept, wall, s->verify", "info table floor column"),
    # ---- FORS (src/samplers/sampler_fors.c; run with --tests fors.coin_1d,fors.coin_10d,fors.segment,fors.nfe)
    ("fors-coin", "src/samplers/sampler_fors.c", "p->prod *= (B + wh) / (2 * B);", "p->prod *= (B + wh) / B;",
     "Bernoulli-factory coin not normalised by 2B"),
    ("fors-rate", "src/samplers/sampler_fors.c", "p->J = rtk_fors_poisson(2 * p->B, u + 1);", "p->J = rtk_fors_poisson(p->B, u + 1);",
     "Poisson number of coins with rate B instead of 2B"),
    ("fors-pois-pmf", "src/samplers/sampler_fors.c", "      p *= mu / j;\n", "      p *= mu / (j + 1);\n", "Poisson CDF recursion off by one"),
    ("fors-clip-sign", "src/samplers/sampler_fors.c", "wh = wh > 0 ? B : -B;", "wh = wh > 0 ? -B : B;", "an overflowing estimate clipped to the wrong end"),
    ("fors-nfe", "src/samplers/sampler_fors.c", "cnt->nfe += pb->estimate(pb->user, m, idx, rnd, jdx, Z, W);",
     "pb->estimate(pb->user, m, idx, rnd, jdx, Z, W);\n    cnt->nfe += m;", "NFE counts one per estimate, not its points"),
    # ---- rollback journal (src/app/journal.c; run with --tests
    # journal.rollback_1,journal.rollback_2,journal.rollback_ompio,journal.finish,reliability.torn_flush)
    ("jr-rank0-only", "src/app/journal.c", "if (all[2 * i] < J.base && save(all[2 * i], all[2 * i + 1])) ok = 0;",
     "if (i == 0 && all[2 * i] < J.base && save(all[2 * i], all[2 * i + 1])) ok = 0;",
     "a collective write saves only rank 0's span"),
    ("jr-truncate", "src/app/journal.c", "if (J.rank == 0 && (uint64_t)size < J.base && save((uint64_t)size, J.base)) ok = 0;",
     "if (J.rank == 0 && (uint64_t)size < J.base && 0) ok = 0;", "a truncation below the committed length is not saved"),
    ("jr-restore-order", "src/app/journal.c", "for (size_t i = n; i-- > 0 && !rc;) {", "for (size_t i = 0; i < n && !rc; i++) {",
     "recovery replays the records oldest first (a region saved twice ends with the newer bytes)"),
    ("jr-restore-len", "src/app/journal.c", "if (!rc && (ftruncate(fd, (off_t)v[0]) != 0 || fsync(fd) != 0))",
     "if (!rc && (fsync(fd) != 0))", "recovery does not cut the file back to its committed length"),
    ("jr-commit-stale", "src/app/journal.c", "if (ftruncate(J.jfd, 0) != 0 || full_write(J.jfd, h, sizeof h, 0) != 0",
     "if (full_write(J.jfd, h, sizeof h, 0) != 0", "a commit rewrites the header but leaves the older records behind it"),
    ("jr-commit-base", "src/app/journal.c", "MPI_Bcast(&J.base, 1, MPI_UINT64_T, 0, J.comm);", ";",
     "a commit's new committed length stays on rank 0"),
    ("jr-view-span", "src/app/journal.c",
     "*hi = (uint64_t)disp + t1 * (uint64_t)ext + (uint64_t)tlb + (uint64_t)text;",
     "*hi = (uint64_t)disp + t1 * (uint64_t)ext + (uint64_t)tlb + (uint64_t)fsz;",
     "a write through a strided file view: the last tile's span ends at its size, not its extent"),
    ("jr-record-hash", "src/app/journal.c", "if (fnv(fnv(FNV0, r, 16), buf, (size_t)r[1]) != r[2]) break;", "",
     "recovery applies a torn record (its hash unchecked)"),
    ("jr-finish-keep", "src/app/journal.c", "if (J.rank == 0 && fsync(J.fd) == 0) unlink(J.jpath);",
     "if (J.rank == 0) (void)fsync(J.fd);", "a clean close leaves the journal (a later --resume would undo the close)"),
    ("jr-inode", "src/app/journal.c", "(uint64_t)sb.st_ino == v[2])", "1)",
     "a journal is applied to another file on the same device"),
    # ---- the ziggurat (run.normal = ziggurat: include/rtk/ziggurat.h, src/core/rng.c, src/core/rng_avx512.c)
    ("zig-sign", "include/rtk/ziggurat.h", "return (w & 256) ? -x : x;", "return (w & 128) ? -x : x;",
     "the sign from the layer's bit 7 instead of bit 8 (sign and |z| correlated)"),
    ("zig-k-index", "include/rtk/ziggurat.h", "if ((w >> 12) >= RTK_ZIG_LD(rtk_zig_k, w & 255)) return 0;",
     "if ((w >> 12) >= RTK_ZIG_LD(rtk_zig_k, (w + 1) & 255)) return 0;", "the fast path compares with the next layer's K"),
    ("zig-tail", "include/rtk/ziggurat.h", "if (2 * eta > xi * xi) {", "if (eta > xi * xi) {",
     "Marsaglia's tail test without the factor 2 (the tail too light)"),
    ("zig-retry-chunk", "src/core/rng.c", "zig_words2(s, RTK_ZIG_CHUNK(i, a), &A, &B);",
     "zig_words2(s, RTK_ZIG_CHUNK(i, 0), &A, &B);", "every retry attempt of a normal redraws the same block"),
    ("zig-simd-sign", "src/core/rng_avx512.c", "_mm512_slli_epi64(_mm512_and_si512(v, sgn), 55)",
     "_mm512_slli_epi64(_mm512_and_si512(v, sgn), 54)", "AVX-512 fast path: the sign bit lands in the exponent"),
    # ---- the diagnostics' rounding without libm calls (include/rtk/update.h)
    ("quant-zero-sign", "include/rtk/update.h", "return copysign((v + c) - c, v);", "return (v + c) - c;",
     "nearbyint's stand-in loses the sign of a zero result (-0.3 -> +0)"),
    ("lround-half", "include/rtk/update.h", "return t + (f >= 0.5) - (f <= -0.5);", "return t + (f > 0.5) - (f < -0.5);",
     "llround's stand-in rounds halves towards zero"),
    # ---- rtk-mala's row pass in vector lanes (src/samplers/mala_row_impl.h; run with --tests mpi.reproducibility)
    ("row-grad-order", "src/samplers/mala_row_impl.h", "*g = MR_SUB(MR_NEG(sp), MR_DIV(MR_MUL(e, r), q));",
     "*g = MR_SUB(MR_NEG(sp), MR_MUL(e, MR_DIV(r, q)));", "vector row pass: e r / q rounded as e (r / q) (other bits)"),
    ("row-tail-sum", "src/samplers/mala_row_impl.h", "MR_CAT(mr_add3_, MR_SUFFIX)(m, r2, a2, b2, &quad, &f, &b);",
     "MR_CAT(mr_add3_, MR_SUFFIX)(m - 1, r2, a2, b2, &quad, &f, &b);",
     "vector row pass: the padded tail's last coordinate left out of the three sums"),
    ("rtk-score-qcur", "src/samplers/sampler_rtk.c", "    w->qcur[i] = qp;\n", "",
     "rtk-mala-score keeps the quadratic part of the state before an accepted proposal"),
    # ---- philox4x32's Box-Muller (src/core/bm32.h, rng_p4x32_impl.h; run with --tests vmath.bm32_accuracy,
    # vmath.p4x32_isa,vmath.p4x32_tail)
    ("bm-octant-swap", "src/core/bm32.h", "if ((q + 1) & 2) {", "if (q & 2) {",
     "philox4x32 Box-Muller (scalar): cos and sin exchanged in octants 2, 3, 6, 7 instead of 1, 2, 5, 6"),
    ("bm-log-lo", "src/core/bm32.h", "const double lo = s * (hfsq + R) + E * BM_LN2_LO;",
     "const double lo = s * (hfsq + R);", "philox4x32 Box-Muller (scalar): -2 ln u without ln 2's tail (E·1.9e-15 off)"),
    ("bm-simd-sign", "src/core/rng_p4x32_impl.h", "zs[v] = P_XOR(b, P_SLLI(P_AND(q[v], four), 61));",
     "zs[v] = P_XOR(b, P_SLLI(P_AND(q[v], two), 62));", "SIMD Box-Muller: the sine's sign from octant bit 1, not 2"),
    ("bm-simd-odd", "src/core/rng_p4x32_impl.h", "P_CAT(run_, P_SUFFIX)(P_BM, key, ctr, chunk0, (m + 1) / 2, m,",
     "P_CAT(run_, P_SUFFIX)(P_BM, key, ctr, chunk0, m / 2, m,", "SIMD Box-Muller: an odd count's last normal unwritten"),
    # ---- rtk-mala's rows 4 at a time (sampler_rtk.c assemble_rows, mala_row_impl.h rtk_mala_rows_*; run with
    # --tests mpi.reproducibility)
    ("rows-sums-row", "src/samplers/mala_row_impl.h", "sums[3 * p + c] = out[c][p];",
     "sums[3 * p + c] = out[c][(p + 1) % MR_W];", "AVX2 rows: each row of a group gets the next row's three sums"),
    ("rows-scalar-tau", "src/samplers/sampler_rtk.c", "rtk_mala_terms(z[o], zp[o], gr[o], gj, tau[p], &s[p][1], &s[p][2]);",
     "rtk_mala_terms(z[o], zp[o], gr[o], gj, tau[0], &s[p][1], &s[p][2]);",
     "scalar rows: every row of a group uses the first row's step (adaptive steps differ)"),
    ("rows-tail-drop", "src/samplers/sampler_rtk.c", "for (int p = 0; p < cnt; p++) npass += step_row(",
     "for (int p = 0; p < cnt - (cnt < RTK_MALA_ROWS); p++) npass += step_row(",
     "a block's last, partial group of rows loses its last row's step"),
    ("quad-rows-tail", "src/samplers/sampler_rtk.c", "quad_rows(n - i0, d, cur->z + o, prop->z + o, cur->score + o, prop->score + o, e0, e1);",
     "quad_rows(n - i0, d, cur->z + o, prop->z + o, cur->score + o, cur->score + o, e0, e1);",
     "rtk-mala-score: a partial group's end-point sums use the current score twice"),
    # ---- ninth round (issue 11): the accept test's bounds, the sampled rng timers, the normals' shared polynomial
    # loop; run with --tests core.mala_accept,core.timers_sample,vmath.p4x32_isa,vmath.p4x32_tail,vmath.bm32_accuracy
    ("accept-bound-half", "include/rtk/update.h", "if (u >= 0.5 && v - v * v > log_alpha + margin) return 0;",
     "if (v - v * v > log_alpha + margin) return 0;", "accept test: the lower bound on ln u used below u = 1/2 too"),
    ("accept-bound-edge", "include/rtk/update.h", "if (v < log_alpha - margin) return 1;",
     "if (v <= log_alpha) return 1;", "accept test: accepts at log_alpha = u - 1 without margin (log u may equal it)"),
    ("timers-unscaled", "src/core/timers.c", "(ns ? (double)sampled * ((double)rest / (double)ns) : 0)",
     "(ns ? (double)sampled : 0)", "rng timers: the sampled calls' ticks not scaled up to all calls"),
    ("timers-first-stuck", "src/core/timers.c", "if (rng_calls[f]++ < RTK_RNG_TIMED_FIRST) return 1;",
     "if (rng_calls[f] < RTK_RNG_TIMED_FIRST) return 1;", "rng timers: calls never counted, so every call is timed"),
    ("mala-sub-logp", "src/samplers/sampler_rtk.c",
     "rtk_score_eval(&w->sw, e0 - s0, prop->z + o, energy ? prop->logp + s0 : NULL, prop->score + o);",
     "rtk_score_eval(&w->sw, e0 - s0, prop->z + o, energy ? prop->logp : NULL, prop->score + o);",
     "rtk-mala's sub-blocks: every sub-block's energies land in the first sub-block's rows"),
    ("bm-horner3-arg", "src/core/rng_p4x32_impl.h", "hl[v] = P_ADDPD(P_SET1PD(BM_PL[i]), P_MULPD(zl[v], hl[v]));",
     "hl[v] = P_ADDPD(P_SET1PD(BM_PL[i]), P_MULPD(zt[v], hl[v]));",
     "SIMD Box-Muller: the log's polynomial evaluated at the angle's argument"),
    ("coef-cache-first", "src/scores/score_exact.c",
     "rtk_mixcoef_set_time_c(model, t, w->cv + (size_t)i * (K + 1), w->cv[(size_t)i * (K + 1) + K], c);",
     "rtk_mixcoef_set_time_c(model, t, w->cv, w->cv[(size_t)i * (K + 1) + K], c);",
     "exact score's cache: a refilled slot takes the first kept time's normalisers"),
    ("coef-refill-mk", "src/core/mixture.c", "      c->MA[i] = mk / lam;\n    }\n    memcpy(",
     "      c->MA[i] = mk * c->A[i];\n    }\n    memcpy(",
     "exact score's cache: the refill multiplies by 1/lam where the full computation divides (last bits differ)"),
    ("gemm-tile-out", "src/core/mixture.c", "if (sc) memcpy(sc, w->Spad, sizeof(double) * r * d);",
     "if (sc) memcpy(sc, w->Spad, sizeof(double) * (r - (r > 1)) * d);",
     "mixture kernel: a short tile's last row of score is not copied back (GEMM tiles, mixture.h)"),
    ("proj-tile-out", "src/core/metrics.c", "if (r < T) memcpy(Y + (size_t)s * ns, yp, sizeof(double) * r * ns);",
     "if (r < T && s == 0) memcpy(Y + (size_t)s * ns, yp, sizeof(double) * r * ns);",
     "projection: a short tile after the first is never copied out"),
    ("mlp-tile-rows", "src/scores/score_mlp.c",
     "for (int j = 0; j < d; j++) out[(size_t)(s + i) * d + j] = (O[(size_t)i * d + j] + bL[j]) / rho;",
     "for (int j = 0; j < d; j++) out[(size_t)i * d + j] = (O[(size_t)i * d + j] + bL[j]) / rho;",
     "mlp score: every tile writes over the first tile's rows"),
    ("chunk-ids", "src/samplers/sampler_rtk.c",
     "RTK_CHECK(run_kind(ctx, gid0 + s0, c, X + (size_t)s0 * d, st, w, kind));",
     "RTK_CHECK(run_kind(ctx, gid0, c, X + (size_t)s0 * d, st, w, kind));",
     "rtk samplers: every chunk's particles take the block's first ids (wrong random streams)"),
    ("sched-piece-clip", "src/app/schedule.c",
     "const int rows = (int)(s->r1[v] - t < want ? s->r1[v] - t : want);",
     "const int rows = (int)want;",
     "dynamic schedule: a stolen piece at the end of another rank's range is not clipped to the range"),
    ("sched-piece-block", "src/app/schedule.c",
     "return n < s->u ? s->u : n > s->B ? s->B : n;",
     "return s->B;",
     "dynamic schedule: the pieces never shrink at the end of the run (the tail waits a whole block)"),
    ("sched-piece-unit", "src/app/schedule.c", "n = (n + s->u - 1) / s->u * s->u;", "n = n + 0;",
     "dynamic schedule: a shrunk piece is not a whole number of units (smc's groups straddle two pieces)"),
    # ---- twelfth round (issue 11): the summary's time split; run with --tests mpi.timers
    ("split-mean-is-max", "src/app/study.c", "res->phase[1][p] = tp[1][p];", "res->phase[1][p] = tp[0][p];",
     "run summary: the time split's first row shows the max over ranks, not the mean of the file's row 1"),
    ("split-share-sum", "src/app/study.c", "printf(\" %9.1f%%\", 100 * (1 - ph[0] / sum));",
     "printf(\" %9.1f%%\", 100 * (1 - ph[0] / (sum - ph[4])));",
     "run summary: the 'not score' share leaves the ranks' waiting out of the time"),
]


def sh(cmd, cwd, log, timeout=None):
    with open(log, "a") as f:
        f.write(f"$ {cmd}\n")
        f.flush()
        try:
            return subprocess.run(cmd, shell=True, cwd=cwd, stdout=f, stderr=subprocess.STDOUT, timeout=timeout).returncode
        except subprocess.TimeoutExpired:
            f.write("timeout\n")
            return 124


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--only", help="comma-separated mutant ids")
    ap.add_argument("--tests", help="comma-separated CTest names, run in this order (default: the fast tests)")
    ap.add_argument("--jobs", type=int, default=2, help="build jobs")
    ap.add_argument("--keep", action="store_true", help="keep the scratch directory")
    ap.add_argument("--list", action="store_true", help="print the catalogue and exit")
    ap.add_argument("--report", help="also write the results table (markdown) to this file")
    ap.add_argument("--check", action="store_true",
                    help="only check that every find string occurs exactly once (CTest docs.mutants), then exit")
    a = ap.parse_args()
    src = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    cat = CATALOGUE
    if a.only:
        ids = a.only.split(",")
        cat = [m for m in CATALOGUE if m[0] in ids]
        if len(cat) != len(ids):
            print(f"unknown mutant ids: {sorted(set(ids) - {m[0] for m in cat})}")
            return 2
    if a.list:
        for m in cat:
            print(f"{m[0]:20s} {m[1]:32s} {m[4]}")
        return 0
    # the catalogue must match the code: each find string exactly once
    for mid, path, find, _, _ in cat:
        n = open(os.path.join(src, path)).read().count(find)
        if n != 1:
            print(f"catalogue error: {mid}: {find!r} occurs {n} times in {path}")
            return 2
    if a.check:
        print(f"{len(cat)} mutants, each find string once in its file")
        return 0
    tmp = tempfile.mkdtemp(prefix="rtk-mutate-")
    tree, build, log = os.path.join(tmp, "tree"), os.path.join(tmp, "tree", "build"), os.path.join(tmp, "log.txt")
    files = subprocess.run(["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=src, capture_output=True,
                           check=True).stdout.decode().split("\0")
    for p in filter(None, files):
        if os.path.isfile(os.path.join(src, p)):
            os.makedirs(os.path.dirname(os.path.join(tree, p)), exist_ok=True)
            shutil.copy2(os.path.join(src, p), os.path.join(tree, p))
    print(f"scratch copy: {tree} (log: {log})", flush=True)
    env = f"OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1"
    make = f"cmake --build build -j{a.jobs}"  # every target: a mutant must reach every test binary
    names = a.tests.split(",") if a.tests else FAST

    def test(log):
        """the tests one by one; the name of the first that fails, or None"""
        for t in names:
            if sh(f"cd build && {env} ctest -R '^{re.escape(t)}$' --timeout 600 --output-on-failure", tree, log):
                return t
        return None

    # the cpu code is what the catalogue mutates (no GPU here): the cuda backend is left out of the build
    if sh("cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DRTK_CUDA=OFF >/dev/null", tree, log) or sh(make, tree, log):
        print("the unmutated tree does not build")
        return 2
    t0 = time.time()
    # every name must be exactly one CTest entry: `ctest -R` with no match passes, which would let
    # every mutant survive unseen
    unknown = [t for t in names if sh(f"cd build && ctest -N -R '^{re.escape(t)}$' | grep -q 'Total Tests: 1$'", tree, log)]
    if unknown:
        print(f"not CTest entries here: {', '.join(unknown)}")
        return 2
    if test(log) is not None:
        print(f"the fast tests fail on the unmutated tree (see {log})")
        return 2
    print(f"baseline: fast tests pass ({time.time() - t0:.0f} s)", flush=True)
    rows, killed, survived, still = [], 0, 0, 0
    for mid, path, find, repl, what in cat:
        f = os.path.join(tree, path)
        orig = open(f).read()
        open(f, "w").write(orig.replace(find, repl, 1))
        t0 = time.time()
        mlog = os.path.join(tmp, f"{mid}.log")
        if sh(make, tree, mlog):
            verdict, by = "stillborn", "does not compile"
            still += 1
        elif (test_failed := test(mlog)):
            verdict, by = "killed", test_failed
            killed += 1
        else:
            verdict, by = "SURVIVED", "-"
            survived += 1
        open(f, "w").write(orig)
        rows.append((mid, path, what, verdict, by))
        print(f"{mid:20s} {verdict:9s} {time.time() - t0:5.0f} s  {by}", flush=True)
    sh(make, tree, log)  # leave the scratch build unmutated
    n = killed + survived
    rate = 100.0 * killed / n if n else 0
    print(f"\n{killed} killed, {survived} survived, {still} stillborn: kill rate {rate:.1f} % of {n}")
    for r in rows:
        if r[3] == "SURVIVED":
            print(f"survivor: {r[0]} ({r[1]}): {r[2]}")
    if a.report:
        with open(a.report, "w") as out:
            out.write("| mutant | file | bug | verdict | first failing tests |\n|---|---|---|---|---|\n")
            for r in rows:
                out.write(f"| {r[0]} | {r[1]} | {r[2]} | {r[3]} | {r[4]} |\n")
            out.write(f"\n{killed} killed, {survived} survived, {still} stillborn: kill rate {rate:.1f} % of {n}\n")
    if a.keep:
        print(f"kept {tmp}")
    else:
        shutil.rmtree(tmp)
    return 0 if survived == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
