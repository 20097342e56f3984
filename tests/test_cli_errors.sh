#!/usr/bin/env bash
# CLI error-handling tests for rtkbench (SPEC §7): unknown keys, bad values,
# missing files: a clear one-line error naming the file, line and key; exit
# code 2; no output file left behind; no rank left hanging.
#
# usage: bash tests/test_cli_errors.sh <path-to-rtkbench> <mpiexec> <workdir>
#
# Prints one line per case (PASS/FAIL name) and finally "N passed, M failed".
# Exits 0 only if every case passes.

set -u

if [ $# -ne 3 ]; then
    echo "usage: $0 <path-to-rtkbench> <mpiexec> <workdir>" >&2
    exit 2
fi

BIN=$1
MPIEXEC=$2
WD=$3

export OMPI_ALLOW_RUN_AS_ROOT=1
export OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
# keep Open MPI quiet and local (no network probing on CI boxes)
export OMPI_MCA_btl_vader_single_copy_mechanism=${OMPI_MCA_btl_vader_single_copy_mechanism:-none}

mkdir -p "$WD" || { echo "cannot create workdir '$WD'" >&2; exit 2; }
WD=$(cd "$WD" && pwd)
case "$BIN" in /*) ;; *) BIN="$(cd "$(dirname "$BIN")" && pwd)/$(basename "$BIN")" ;; esac
if [ ! -x "$BIN" ]; then
    echo "rtkbench binary '$BIN' is not executable" >&2
    exit 2
fi

# Open MPI needs --oversubscribe for more ranks than cores.
MPIFLAGS=()
if "$MPIEXEC" --version 2>&1 | grep -qi 'open mpi\|open-mpi\|openrte'; then
    MPIFLAGS=(--oversubscribe)
fi

# run from the work directory, so default relative outputs land there
cd "$WD" || exit 2

TIMEOUT=${RTK_TEST_TIMEOUT:-60}   # seconds per invocation; 124 = hung
NPASS=0
NFAIL=0

# ---------------------------------------------------------------- helpers --

CASE=""      # current case name
REASONS=()   # failure reasons of the current case
RC=0         # exit code of the last invocation
OUT=""       # stdout file of the last invocation
ERR=""       # stderr file of the last invocation

begin() {
    CASE=$1
    REASONS=()
    rm -f "$WD/out_$CASE".h5*
}

fail() { REASONS+=("$*"); }

finish() {
    if [ ${#REASONS[@]} -eq 0 ]; then
        echo "PASS $CASE"
        NPASS=$((NPASS + 1))
    else
        local msg r
        msg=""
        for r in "${REASONS[@]}"; do msg="${msg:+$msg; }$r"; done
        echo "FAIL $CASE: $msg"
        NFAIL=$((NFAIL + 1))
        if [ -s "$ERR" ]; then
            sed -e 's/^/    stderr| /' "$ERR" | head -n 20
        fi
    fi
}

# write_ini NAME <<'EOF' ... EOF  -> $WD/NAME.ini from stdin
write_ini() { cat > "$WD/$1.ini"; }

# invoke CMD...: run under timeout, capture stdout/stderr, set RC.
invoke() {
    OUT="$WD/$CASE.stdout"
    ERR="$WD/$CASE.stderr"
    timeout -k 10 "$TIMEOUT" "$@" </dev/null >"$OUT" 2>"$ERR"
    RC=$?
    if [ "$RC" -eq 124 ] || [ "$RC" -eq 137 ]; then
        fail "hung (killed after ${TIMEOUT}s)"
        return 1
    fi
    return 0
}

rtk()  { invoke "$BIN" "$@"; }
mpi()  { local n=$1; shift; invoke "$MPIEXEC" -n "$n" "${MPIFLAGS[@]}" "$BIN" "$@"; }

expect_rc() {
    [ "$RC" -eq 124 ] || [ "$RC" -eq 137 ] && return
    [ "$RC" -eq "$1" ] || fail "exit code $RC, expected $1"
}

expect_nonzero_rc() {
    [ "$RC" -eq 124 ] || [ "$RC" -eq 137 ] && return
    [ "$RC" -ne 0 ] || fail "exit code 0, expected nonzero"
}

# expect_err TEXT...: every TEXT occurs (fixed string) in stderr
expect_err() {
    local s
    for s in "$@"; do
        grep -qF -- "$s" "$ERR" || fail "stderr lacks '$s'"
    done
}

# expect_err_re REGEX...: every extended regex matches stderr
expect_err_re() {
    local s
    for s in "$@"; do
        grep -qE -- "$s" "$ERR" || fail "stderr does not match /$s/"
    done
}

# expect_out TEXT...: every TEXT occurs in stdout
expect_out() {
    local s
    for s in "$@"; do
        grep -qF -- "$s" "$OUT" || fail "stdout lacks '$s'"
    done
}

# exactly one "rtkbench: error:" line in stderr (one line, on rank 0 only)
expect_one_error() {
    local n
    n=$(grep -c 'rtkbench: error:' "$ERR")
    [ "$n" -eq 1 ] || fail "$n 'rtkbench: error:' lines in stderr, expected 1"
}

# the error line starts with "rtkbench: error: FILE:LINE:" (LINE may be a
# regex alternative like "(3|6)")
expect_loc() {
    local file=$1 line=$2
    grep -qE -- "^rtkbench: error: (.*/)?${file//./\\.}:${line}: " "$ERR" \
        || fail "error does not name ${file}:${line}"
}

expect_no_output() {
    local f
    for f in "$WD/out_$CASE".h5*; do
        [ -e "$f" ] && fail "output file '$(basename "$f")' was created"
    done
}

# bad_config NAME LINE TEXT...: `run NAME.ini -o out_NAME.h5` must fail with
# exit code 2, one error line naming NAME.ini:LINE and every TEXT, and leave
# no output file.
bad_config() {
    local name=$1 line=$2
    shift 2
    begin "$name"
    if rtk run "$WD/$name.ini" -o "$WD/out_$name.h5"; then
        expect_rc 2
        expect_one_error
        expect_loc "$name.ini" "$line"
        expect_err "$@"
        expect_no_output
    fi
    finish
}

# -------------------------------------------------------------- configs --

# A tiny, valid study (writes nothing by itself).
write_ini good <<'EOF'
; tiny valid study used by the tests
[run]
particles = 200
seed = 1
samplers = exact, ddpm, rtk-mala
nfe = 10

[target]
kind = mog-grid
dim = 3

[time]
T = 5
grid = geometric

[rtk-mala]
segments = 5
EOF

# ------------------------------------------------------ bad configurations --

write_ini unknown_section <<'EOF'
[run]
particles = 200
nfe = 10
[bogus]
x = 1
EOF
# The section header is line 4, its first key line 5: either names the spot.
bad_config unknown_section '(4|5)' "unknown section" "bogus"

# An unknown section with no keys is still an unknown section (likely a typo).
write_ini unknown_section_empty <<'EOF'
[run]
particles = 200
nfe = 10
[rtk_mala]
EOF
bad_config unknown_section_empty 4 "unknown section" "rtk_mala"

write_ini unknown_key_run <<'EOF'
[run]
particles = 200
nfe = 10
partciles = 300
EOF
bad_config unknown_key_run 4 "partciles" "[run]"

write_ini unknown_key_sampler <<'EOF'
[run]
particles = 200
nfe = 10
samplers = exact, ddpm

[target]
dim = 3

[ddpm]
segments = 3
EOF
bad_config unknown_key_sampler 10 "segments" "ddpm"

write_ini target_key_wrong_kind <<'EOF'
[run]
particles = 200
nfe = 10

[target]
kind = gaussian
dim = 3
side = 3
EOF
bad_config target_key_wrong_kind 8 "side" "gaussian"

# same, with the key before the kind that rules it out
write_ini target_key_before_kind <<'EOF'
[run]
particles = 200
nfe = 10

[target]
side = 3
kind = gaussian
dim = 3
EOF
bad_config target_key_before_kind 6 "side" "gaussian"

write_ini malformed_int <<'EOF'
[run]
particles = abc
nfe = 10
EOF
bad_config malformed_int 2 "particles" "abc"

write_ini int_trailing_garbage <<'EOF'
[run]
particles = 200x
nfe = 10
EOF
bad_config int_trailing_garbage 2 "particles" "200x"

write_ini malformed_float <<'EOF'
[run]
particles = 200
nfe = 10
[time]
T = five
EOF
bad_config malformed_float 5 "T" "five"

write_ini particles_zero <<'EOF'
[run]
particles = 0
nfe = 10
EOF
bad_config particles_zero 2 "particles" "'0'"

write_ini bins_zero <<'EOF'
[run]
particles = 200
nfe = 10

[target]
dim = 3

[metrics]
bins = 0
EOF
bad_config bins_zero 9 "bins" "'0'" "[metrics]"

write_ini bad_enum <<'EOF'
[run]
particles = 200
nfe = 10

[time]
grid = cubic
EOF
bad_config bad_enum 6 "grid" "cubic"

write_ini bad_bool <<'EOF'
[run]
particles = 200
nfe = 10

[output]
boundaries = maybe
EOF
bad_config bad_bool 6 "boundaries" "maybe"

write_ini unknown_sampler <<'EOF'
[run]
particles = 200
nfe = 10
samplers = exact, langevin
EOF
bad_config unknown_sampler 4 "samplers" "langevin"

write_ini unknown_target <<'EOF'
[run]
particles = 200
nfe = 10

[target]
kind = banana
EOF
bad_config unknown_target 6 "kind" "banana"

write_ini unknown_sweep_key <<'EOF'
[run]
particles = 200
nfe = 10

[sweep]
nfe = 10, 20
foo = 1, 2
EOF
bad_config unknown_sweep_key 7 "foo" "sweep"

write_ini sweep_unknown_section_key <<'EOF'
[run]
particles = 200
nfe = 10

[sweep]
time.gird = uniform, geometric
EOF
bad_config sweep_unknown_section_key 6 "gird"

write_ini sweep_bad_value <<'EOF'
[run]
particles = 200
nfe = 10

[sweep]
nfe = 10, ten
EOF
bad_config sweep_bad_value 6 "nfe" "ten"

write_ini sweep_samplers <<'EOF'
[run]
particles = 200
nfe = 10

[sweep]
run.samplers = ddpm, exact
EOF
bad_config sweep_samplers 6 "run.samplers"

write_ini syntax_error <<'EOF'
[run]
particles = 200
nfe 10
EOF
bad_config syntax_error 3 "syntax error"

write_ini duplicate_key <<'EOF'
[run]
particles = 200
nfe = 10
particles = 300
EOF
bad_config duplicate_key 4 "particles" "[run]"

# NFE budget 3 cannot feed 5 RTK segments: names run.nfe (line 3) or
# rtk-mala.segments (line 6).
write_ini nfe_too_small <<'EOF'
[run]
particles = 200
nfe = 3
samplers = rtk-mala
[rtk-mala]
segments = 5
EOF
bad_config nfe_too_small '(3|6)' "rtk-mala" "segments"

# A section of a sampler that is not in run.samplers runs nothing, but its
# keys and values are checked as if it ran (see unused_sections_ok below).
write_ini unused_section_bad_value <<'EOF'
[run]
particles = 200
nfe = 10
samplers = ddpm, rtk-mala

[target]
dim = 3

[rtk-uld]
segments = 5
gamma = -1
EOF
bad_config unused_section_bad_value 11 "[rtk-uld]" "gamma" "'-1'"

write_ini unused_section_malformed <<'EOF'
[run]
particles = 200
nfe = 10
samplers = exact
[pmm]
substeps = many
EOF
bad_config unused_section_malformed 6 "[pmm]" "substeps" "many"

write_ini unused_section_unknown_key <<'EOF'
[run]
particles = 200
nfe = 10
samplers = exact, ddpm
[rtk-uld]
quad = simpson
EOF
bad_config unused_section_unknown_key 6 "unknown key 'quad'" "[rtk-uld]"

# the same for a sweep axis <sampler>.key of a sampler that does not run:
# every value is checked, and the error names the [sweep] line
write_ini unused_sweep_bad_value <<'EOF'
[run]
particles = 200
nfe = 10
samplers = ddpm, rtk-mala

[sweep]
nfe = 10, 20
rtk-uld.step_mode = relative, adaptve
EOF
bad_config unused_sweep_bad_value 8 "[rtk-uld]" "step_mode" "adaptve"

write_ini unused_sweep_out_of_range <<'EOF'
[run]
particles = 200
nfe = 10
samplers = exact
[sweep]
rtk-mala-score.quad_nodes = 3, 40
EOF
bad_config unused_sweep_out_of_range 6 "[rtk-mala-score]" "quad_nodes" "'40'"

# The size limit of output.trace (1e8 stored values per run) is checked when
# the runs are resolved, before any output exists:
# 1000 particles x 5 x (100 + 1) chain states x dim 200 = 1.01e8.
write_ini trace_too_large <<'EOF'
[run]
particles = 2000
nfe = 10
samplers = exact, rtk-mala

[target]
dim = 200

[rtk-mala]
segments = 5
inner_steps = 100

[output]
trace = 1000
EOF
bad_config trace_too_large 14 "output.trace = 1000" "1.01e+08 values" "trace fewer particles" "[rtk-mala]"

# ------------------------------------------------------------------ --set --

begin set_no_dot
if rtk run "$WD/good.ini" -o "$WD/out_set_no_dot.h5" --set particles=3; then
    expect_rc 2; expect_one_error
    expect_err "--set" "particles=3"
    expect_no_output
fi
finish

begin set_no_equals
if rtk run "$WD/good.ini" -o "$WD/out_set_no_equals.h5" --set run.particles; then
    expect_rc 2; expect_one_error
    expect_err "--set" "run.particles"
    expect_no_output
fi
finish

begin set_missing_arg
if rtk run "$WD/good.ini" -o "$WD/out_set_missing_arg.h5" --set; then
    expect_rc 2; expect_one_error
    expect_err "--set"
    expect_no_output
fi
finish

begin set_unknown_key
if rtk run "$WD/good.ini" -o "$WD/out_set_unknown_key.h5" --set run.partciles=300; then
    expect_rc 2; expect_one_error
    expect_err "--set" "partciles"
    expect_no_output
fi
finish

begin set_unknown_section
if rtk run "$WD/good.ini" -o "$WD/out_set_unknown_section.h5" --set bogus.x=1; then
    expect_rc 2; expect_one_error
    expect_err "--set" "bogus"
    expect_no_output
fi
finish

begin set_bad_value
if rtk run "$WD/good.ini" -o "$WD/out_set_bad_value.h5" --set run.particles=lots; then
    expect_rc 2; expect_one_error
    expect_err "--set" "particles" "lots"
    expect_no_output
fi
finish

begin set_out_of_range
if rtk run "$WD/good.ini" -o "$WD/out_set_out_of_range.h5" --set metrics.bins=0; then
    expect_rc 2; expect_one_error
    expect_err "--set" "bins" "'0'"
    expect_no_output
fi
finish

# ---------------------------------------------------- files and commands --

begin missing_config
rm -f "$WD/does_not_exist.ini"
if rtk run "$WD/does_not_exist.ini" -o "$WD/out_missing_config.h5"; then
    expect_rc 2; expect_one_error
    expect_err "does_not_exist.ini"
    expect_no_output
fi
finish

begin output_exists
EXIST="$WD/out_output_exists.h5"
touch "$EXIST"
printf 'sentinel: must survive\n' > "$EXIST"
cp "$EXIST" "$WD/output_exists.ref"
if rtk run "$WD/good.ini" -o "$EXIST"; then
    expect_rc 2; expect_one_error
    expect_err "out_output_exists.h5" "--force"
    cmp -s "$EXIST" "$WD/output_exists.ref" || fail "existing output file was modified"
fi
finish

begin output_exists_force
EXIST="$WD/out_output_exists_force.h5"
printf 'sentinel: to be replaced\n' > "$EXIST"
cp "$EXIST" "$WD/output_exists_force.ref"
if rtk run "$WD/good.ini" -o "$EXIST" --force; then
    expect_rc 0
    grep -q 'rtkbench: error' "$ERR" && fail "stderr has an error"
    cmp -s "$EXIST" "$WD/output_exists_force.ref" && fail "--force did not replace the file"
    [ -s "$EXIST" ] || fail "output file missing after --force"
fi
finish

begin output_dir_unwritable
if rtk run "$WD/good.ini" -o /proc/nonexistent/x.h5; then
    expect_rc 2; expect_one_error
    expect_err "/proc/nonexistent"
    [ -e /proc/nonexistent/x.h5 ] && fail "output file was created"
fi
finish

begin unknown_command
if rtk frobnicate "$WD/good.ini"; then
    expect_rc 2
    expect_err_re "^rtkbench: error: .*frobnicate"
    expect_one_error
fi
finish

begin unknown_option
if rtk run "$WD/good.ini" -o "$WD/out_unknown_option.h5" --frobnicate; then
    expect_rc 2
    expect_err_re "^rtkbench: error: .*--frobnicate"
    expect_one_error
    expect_no_output
fi
finish

begin missing_o_argument
if rtk run "$WD/good.ini" -o; then
    expect_rc 2
    expect_one_error
    expect_err "-o"
fi
finish

begin run_without_config
if rtk run; then
    expect_rc 2
    expect_one_error
fi
finish

# -------------------------------------------------------------- validate --

begin validate_good
list_wd() { find "$WD" -mindepth 1 -maxdepth 1 ! -name 'validate_good.std*' -printf '%f\n' | LC_ALL=C sort; }
BEFORE=$(list_wd)
if rtk validate "$WD/good.ini"; then
    expect_rc 0
    expect_out "sampler" "exact" "ddpm" "rtk-mala"
    # the run table: one row per run, ids 0..2
    grep -qE '^[[:space:]]*0[[:space:]]+exact' "$OUT" || fail "run table lacks row 0 exact"
    grep -qE '^[[:space:]]*1[[:space:]]+ddpm' "$OUT" || fail "run table lacks row 1 ddpm"
    grep -qE '^[[:space:]]*2[[:space:]]+rtk-mala' "$OUT" || fail "run table lacks row 2 rtk-mala"
    grep -q 'rtkbench: error' "$ERR" && fail "stderr has an error"
    [ "$(list_wd)" = "$BEFORE" ] || fail "validate created files in the working directory"
fi
finish

begin validate_bad
if rtk validate "$WD/bad_enum.ini"; then
    expect_rc 2; expect_one_error
    expect_loc "bad_enum.ini" 6
    expect_err "grid" "cubic"
fi
finish

begin validate_set_bad
if rtk validate "$WD/good.ini" --set run.nfe=zero; then
    expect_rc 2; expect_one_error
    expect_err "--set" "nfe" "zero"
fi
finish

begin validate_trace_too_large
if rtk validate "$WD/trace_too_large.ini"; then
    expect_rc 2; expect_one_error
    expect_loc "trace_too_large.ini" 14
    expect_err "output.trace = 1000" "trace fewer particles"
fi
finish

begin validate_set_trace_too_large
if rtk validate "$WD/trace_too_large.ini" --set output.trace=2000; then
    expect_rc 2; expect_one_error
    expect_err_re "^rtkbench: error: --set output.trace: .*output.trace = 2000 would store"
fi
finish

# 990 x 505 x 200 = 9.999e7 values: just within the limit
begin validate_trace_at_limit
if rtk validate "$WD/trace_too_large.ini" --set output.trace=990; then
    expect_rc 0
    grep -q 'rtkbench: error' "$ERR" && fail "stderr has an error"
fi
finish

# Unused but valid sampler sections and axes are accepted (a study lists the
# options of samplers one may switch on with --set run.samplers=...), and are
# used once those samplers run.
write_ini unused_sections_ok <<'EOF'
[run]
particles = 200
nfe = 20
samplers = exact, ddpm

[target]
dim = 3

[rtk-uld]
segments = 5
gamma = 1.5
T = 4

[pmm]
substeps = 4

[sweep]
rtk-mala.step = 0.2, 0.4
EOF

begin unused_sections_ok
if rtk validate "$WD/unused_sections_ok.ini"; then
    expect_rc 0
    grep -q 'rtkbench: error' "$ERR" && fail "stderr has an error"
    grep -qE '^[[:space:]]*0[[:space:]]+exact' "$OUT" || fail "run table lacks row 0 exact"
    grep -qE '^[[:space:]]*1[[:space:]]+ddpm' "$OUT" || fail "run table lacks row 1 ddpm"
    expect_out "2 runs,"   # the unused sections and axes add no runs
fi
finish

begin unused_sections_switched_on
if rtk validate "$WD/unused_sections_ok.ini" --set run.samplers=rtk-uld,pmm,rtk-mala; then
    expect_rc 0
    grep -q 'rtkbench: error' "$ERR" && fail "stderr has an error"
    grep -qE '^[[:space:]]*0[[:space:]]+rtk-uld[[:space:]]' "$OUT" || fail "run table lacks row 0 rtk-uld"
    grep -qE '^[[:space:]]*1[[:space:]]+pmm[[:space:]]' "$OUT" || fail "run table lacks row 1 pmm"
    grep -qE '^[[:space:]]*3[[:space:]]+rtk-mala[[:space:]]+rtk-mala\.step=0\.4' "$OUT" \
        || fail "run table lacks row 3 rtk-mala step=0.4"
fi
finish

# A [sweep] axis <sampler>.key next to the shared axis on the same key would
# make the sampler axis win while the shared axis still multiplied its runs
# (identical repeats): refused, like a section value under a swept key.
write_ini sweep_shared_and_sampler_axis <<'EOF'
[run]
particles = 200
samplers = ddpm, rtk-mala

[target]
dim = 3

[sweep]
nfe = 10, 20
ddpm.nfe = 30
EOF

# the shared nfe axis and ddpm.nfe would both sweep ddpm's nfe (identical runs): refused
bad_config sweep_shared_and_sampler_axis 10 "[sweep]" "ddpm.nfe" "run.nfe"

# -------------------------------------------------------------- 3 ranks --

# mpi_bad NAME N ARGS...: under mpiexec -n N the run must fail (mpiexec's
# exit code is nonzero), not hang, and print the error exactly once.
begin mpi3_bad_value
if mpi 3 run "$WD/malformed_int.ini" -o "$WD/out_mpi3_bad_value.h5"; then
    expect_nonzero_rc
    expect_one_error
    expect_loc "malformed_int.ini" 2
    expect_err "particles" "abc"
    expect_no_output
fi
finish

begin mpi3_unknown_key
if mpi 3 run "$WD/unknown_key_sampler.ini" -o "$WD/out_mpi3_unknown_key.h5"; then
    expect_nonzero_rc
    expect_one_error
    expect_loc "unknown_key_sampler.ini" 10
    expect_err "segments" "ddpm"
    expect_no_output
fi
finish

begin mpi3_nfe_too_small
if mpi 3 run "$WD/nfe_too_small.ini" -o "$WD/out_mpi3_nfe_too_small.h5"; then
    expect_nonzero_rc
    expect_one_error
    expect_err "nfe_too_small.ini" "segments"
    expect_no_output
fi
finish

begin mpi3_trace_too_large
if mpi 3 run "$WD/trace_too_large.ini" -o "$WD/out_mpi3_trace_too_large.h5"; then
    expect_nonzero_rc
    expect_one_error
    expect_loc "trace_too_large.ini" 14
    expect_err "output.trace" "trace fewer particles"
    expect_no_output
fi
finish

begin mpi3_unused_section_bad_value
if mpi 3 run "$WD/unused_section_bad_value.ini" -o "$WD/out_mpi3_unused_section_bad_value.h5"; then
    expect_nonzero_rc
    expect_one_error
    expect_loc "unused_section_bad_value.ini" 11
    expect_err "gamma" "'-1'"
    expect_no_output
fi
finish

begin mpi3_set_unknown_key
if mpi 3 run "$WD/good.ini" -o "$WD/out_mpi3_set_unknown_key.h5" --set run.partciles=300; then
    expect_nonzero_rc
    expect_one_error
    expect_err "--set" "partciles"
    expect_no_output
fi
finish

begin mpi3_missing_config
if mpi 3 run "$WD/does_not_exist.ini" -o "$WD/out_mpi3_missing_config.h5"; then
    expect_nonzero_rc
    expect_one_error
    expect_err "does_not_exist.ini"
    expect_no_output
fi
finish

begin mpi3_output_exists
EXIST="$WD/out_mpi3_output_exists.h5"
touch "$EXIST"
printf 'sentinel: must survive (3 ranks)\n' > "$EXIST"
cp "$EXIST" "$WD/mpi3_output_exists.ref"
if mpi 3 run "$WD/good.ini" -o "$EXIST"; then
    expect_nonzero_rc
    expect_one_error
    expect_err "out_mpi3_output_exists.h5" "--force"
    cmp -s "$EXIST" "$WD/mpi3_output_exists.ref" || fail "existing output file was modified"
fi
finish

begin mpi3_output_dir_unwritable
if mpi 3 run "$WD/good.ini" -o /proc/nonexistent/x.h5; then
    expect_nonzero_rc
    expect_one_error
    expect_err "/proc/nonexistent"
fi
finish

# ------------------------------------------------- good run, then info --

begin mpi2_good_run
GOOD_H5="$WD/out_mpi2_good_run.h5"
if mpi 2 run "$WD/good.ini" -o "$GOOD_H5"; then
    expect_rc 0
    [ -s "$GOOD_H5" ] || fail "output file not created"
    grep -q 'rtkbench: error' "$ERR" && fail "stderr has an error"
fi
finish

begin info_good
if [ -s "$GOOD_H5" ]; then
    if rtk info "$GOOD_H5"; then
        expect_rc 0
        expect_out "exact" "ddpm" "rtk-mala"
    fi
else
    fail "no output file from mpi2_good_run"
fi
finish

begin info_json
if [ -s "$GOOD_H5" ]; then
    if rtk info "$GOOD_H5" --json; then
        expect_rc 0
        /usr/bin/python3 -c 'import json,sys; json.load(sys.stdin)' <"$OUT" 2>/dev/null \
            || fail "info --json output is not valid JSON"
    fi
else
    fail "no output file from mpi2_good_run"
fi
finish

begin info_not_hdf5
if rtk info "$WD/good.ini"; then
    expect_rc 2; expect_one_error
    expect_err "good.ini"
fi
finish

begin info_missing_file
rm -f "$WD/no_such_file.h5"
if rtk info "$WD/no_such_file.h5"; then
    expect_rc 2; expect_one_error
    expect_err "no_such_file.h5"
fi
finish

# ---------------------------------------------------------------- summary --

echo "$NPASS passed, $NFAIL failed"
[ "$NFAIL" -eq 0 ]
