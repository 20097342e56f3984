#!/usr/bin/python3
"""docs.env_vars: the "Environment variables" table of docs/config.md against the code.

  /usr/bin/python3 tests/check_env_vars.py [SRCDIR]          the check (exit 1 on any finding)
  /usr/bin/python3 tests/check_env_vars.py --selftest [SRCDIR]  seeded faults must each be found

Which variables the code reads:
  - C/CUDA (src/, include/, tests/, bench/): every getenv/secure_getenv/setenv/
    unsetenv call, comments stripped.  A string-literal argument names the
    variable; an argument that is a parameter of the enclosing function is
    resolved through the function's calls in the same file (testhook.c's
    named("RTK_TEST_FAIL", ...)); `v` or `v[i]` through an initialiser
    `v[] = {"A", "B"}` in the file; a macro `#define M(x) ... getenv("PFX" #x)`
    through its uses M(NAME).  Anything else is reported as unresolved, so a
    new way of reading a variable cannot slip past this check.
  - shell (scripts, tests, bench, hpc): `${RTK_NAME:-...}`, `${RTK_NAME:?...}`,
    `${RTK_NAME-...}`, `${RTK_NAME:=...}` (a parameter read from the environment).
  - Python: os.environ.get("RTK_NAME"), os.environ["RTK_NAME"], os.getenv("RTK_NAME").
Findings:
  1. a variable read by C code, or an RTK_ variable read by a script, that is not in the table;
  2. an RTK_ row that nothing reads (C, `$NAME`/`${NAME}` in a script, Python);
     an `internal` row may instead be set (export/assignment, setenv);
  3. a file in a row's last column that does not exist or does not mention the row's variables;
  4. a name listed twice, or a row whose "For" is not one of the kinds the section defines.
"""
import os
import re
import sys

SCAN = ["src", "include", "tests", "scripts", "bench", "hpc", "analysis", "experiments"]
C_EXT = (".c", ".h", ".cu", ".cuh", ".cc", ".cpp")
SH_EXT = (".sh", ".sbatch", ".pbs", ".bash")
PY_EXT = (".py",)
KINDS = {"user", "diagnostic", "test hook", "internal", "standard", "script"}
ENVNAME = re.compile(r"^[A-Z][A-Za-z0-9_]*$")


def load_tree(root):
    """{relative path: text} of the files this check reads"""
    files = {}
    for top in SCAN:
        for dp, dns, fns in os.walk(os.path.join(root, top)):
            dns[:] = [d for d in dns if not (d.startswith("build") or d.startswith(".") or d in ("data", "__pycache__"))]
            for fn in fns:
                p = os.path.join(dp, fn)
                if fn.endswith(C_EXT + SH_EXT + PY_EXT) and os.path.abspath(p) != os.path.abspath(__file__):
                    with open(p, encoding="utf-8", errors="replace") as f:
                        files[os.path.relpath(p, root)] = f.read()
    with open(os.path.join(root, "docs", "config.md"), encoding="utf-8") as f:
        files["docs/config.md"] = f.read()
    return files


def strip_c(text):
    """comments replaced by blanks (newlines kept); strings and chars kept"""
    out, i, n = [], 0, len(text)
    while i < n:
        c = text[i]
        if c in "\"'":
            j = i + 1
            while j < n and text[j] != c:
                j += 2 if text[j] == "\\" else 1
            out.append(text[i:j + 1])
            i = j + 1
        elif text.startswith("//", i):
            j = text.find("\n", i)
            j = n if j < 0 else j
            out.append(" " * (j - i))
            i = j
        elif text.startswith("/*", i):
            j = text.find("*/", i + 2)
            j = n if j < 0 else j + 2
            out.append(re.sub(r"[^\n]", " ", text[i:j]))
            i = j
        else:
            out.append(c)
            i += 1
    return "".join(out)


def call_args(text, start):
    """the top-level arguments of the call whose '(' is at start, as strings"""
    depth, args, cur, i = 0, [], [], start
    while i < len(text):
        c = text[i]
        if c in "\"'":
            j = i + 1
            while j < len(text) and text[j] != c:
                j += 2 if text[j] == "\\" else 1
            cur.append(text[i:j + 1])
            i = j + 1
            continue
        if c in "([{":
            depth += 1
            if depth == 1:
                i += 1
                continue
        elif c in ")]}":
            depth -= 1
            if depth == 0:
                args.append("".join(cur).strip())
                return args
        elif c == "," and depth == 1:
            args.append("".join(cur).strip())
            cur = []
            i += 1
            continue
        cur.append(c)
        i += 1
    return args


LIT = re.compile(r'^"([^"\\]*)"$')


def literals(s):
    return re.findall(r'"([^"\\]*)"', s)


def resolve(text, pos, arg, path, line):
    """the variable names a getenv-like call's first argument can hold; raises ValueError if unknown"""
    m = LIT.match(arg)
    if m:
        return [m.group(1)]
    # a macro: #define M(x) ... getenv("PFX" #x)
    ls = text.rfind("\n", 0, pos) + 1
    while ls > 1 and text[ls - 2] == "\\":  # continued #define lines
        ls = text.rfind("\n", 0, ls - 2) + 1
    md = re.match(r"\s*#\s*define\s+(\w+)\(([^)]*)\)", text[ls:])
    ms = re.match(r'^"(\w*)"\s*#\s*(\w+)$', arg)
    if md and ms:
        params = [p.strip() for p in md.group(2).split(",")]
        if ms.group(2) in params:
            k = params.index(ms.group(2))
            names = []
            for u in re.finditer(r"\b%s\s*\(" % re.escape(md.group(1)), text):
                if u.start() == ls + md.start(1):
                    continue
                a = call_args(text, text.index("(", u.start()))
                if k < len(a) and re.match(r"^\w+$", a[k]):
                    names.append(ms.group(1) + a[k])
                else:
                    raise ValueError(f"{path}:{line}: macro {md.group(1)} used with a non-name argument")
            if names:
                return names
    m = re.match(r"^(\w+)(\s*\[[^\]]*\])?$", arg)
    if m:
        v = m.group(1)
        init = re.search(r"\b%s\s*\[\s*\w*\s*\]\s*=\s*\{([^}]*)\}" % re.escape(v), text)
        if init and literals(init.group(1)):
            return literals(init.group(1))
        if not m.group(2):
            # a parameter of the enclosing function: the literals its callers pass
            fn = None
            for f in re.finditer(r"\b(\w+)\s*\(([^()]*)\)\s*\{", text[:pos]):
                if f.group(1) not in ("if", "for", "while", "switch"):
                    fn = f
            if fn:
                params = [re.findall(r"\w+", p)[-1] if re.findall(r"\w+", p) else "" for p in fn.group(2).split(",")]
                if v in params:
                    k, names = params.index(v), []
                    for u in re.finditer(r"\b%s\s*\(" % re.escape(fn.group(1)), text):
                        if u.start() == fn.start(1):
                            continue
                        a = call_args(text, text.index("(", u.start()))
                        if k < len(a) and LIT.match(a[k]):
                            names.append(LIT.match(a[k]).group(1))
                        else:
                            raise ValueError(f"{path}:{line}: {fn.group(1)}() is called with a non-literal variable name")
                    if names:
                        return names
    raise ValueError(f"{path}:{line}: cannot tell which variable `{arg}` names; read it with a string literal "
                     "or teach tests/check_env_vars.py the new pattern")


def c_reads(files):
    """{name: [path, ...]} read (getenv, secure_getenv) and set (setenv, unsetenv) by C code; errors"""
    reads, sets, errors = {}, {}, []
    for path, text in files.items():
        if not path.endswith(C_EXT):
            continue
        t = strip_c(text)
        for m in re.finditer(r"\b(secure_getenv|getenv|setenv|unsetenv)\s*\(", t):
            if re.search(r"(int|char|void)\s*\*?\s*$", t[max(0, m.start() - 20):m.start()]):
                continue  # a declaration or definition, not a call
            line = t.count("\n", 0, m.start()) + 1
            args = call_args(t, m.end() - 1)
            if not args:
                continue
            try:
                names = resolve(t, m.start(), args[0], path, line)
            except ValueError as e:
                errors.append(str(e))
                continue
            for nm in names:
                (reads if "getenv" in m.group(1) else sets).setdefault(nm, []).append(path)
    return reads, sets, errors


SH_PARAM = re.compile(r"\$\{(RTK_[A-Z0-9_]+)(:?[-?=])")
PY_READ = re.compile(r"""(?:environ\.get|environ|getenv)\s*[\[(]\s*["'](\w+)["']""")


def script_reads(files):
    """RTK_ parameters read from the environment by shell and Python scripts: {name: [path]}"""
    reads = {}
    for path, text in files.items():
        if path.endswith(SH_EXT):
            for m in SH_PARAM.finditer(text):
                reads.setdefault(m.group(1), []).append(path)
        elif path.endswith(PY_EXT):
            for m in PY_READ.finditer(text):
                reads.setdefault(m.group(1), []).append(path)
    return reads


def any_read(files, name):
    """is name read anywhere: $NAME / ${NAME in a script, or the Python forms"""
    pat = re.compile(r"\$\{?%s\b" % re.escape(name))
    for path, text in files.items():
        if path.endswith(SH_EXT) and pat.search(text):
            return True
        if path.endswith(PY_EXT) and any(m.group(1) == name for m in PY_READ.finditer(text)):
            return True
    return False


def any_set(files, name):
    pat = re.compile(r"(?:^|[\s;])(?:export\s+)?(?:\w+=\S*\s+)*%s=" % re.escape(name), re.M)
    return any(path.endswith(SH_EXT) and pat.search(text) for path, text in files.items())


def table(doc):
    """the rows of the section: [(line, names, kind, files)]"""
    m = re.search(r"^## Environment variables\n(.*?)(?=^## |\Z)", doc, re.S | re.M)
    if not m:
        return None
    first = doc.count("\n", 0, m.start(1)) + 1
    rows = []
    for i, ln in enumerate(m.group(1).split("\n")):
        if not ln.startswith("|") or re.match(r"^\|[-| ]+\|$", ln):
            continue
        cells = [c.strip() for c in ln.strip().strip("|").split("|")]
        if cells[0] == "Variable":
            continue
        names = [n for n in re.findall(r"`([^`]+)`", cells[0]) if ENVNAME.match(n)]
        files = [f for f in re.findall(r"`([^`]+)`", cells[-1]) if "/" in f]
        rows.append((first + i, names, cells[3] if len(cells) == 5 else "?", files, len(cells)))
    return rows


def check(files):
    """the findings (a list of messages)"""
    out = []
    rows = table(files["docs/config.md"])
    if not rows:
        return ["docs/config.md has no '## Environment variables' section with a table"]
    listed = {}
    for line, names, kind, fl, ncells in rows:
        where = f"docs/config.md:{line}"
        if ncells != 5:
            out.append(f"{where}: a row needs 5 cells, this one has {ncells}")
        if not names:
            out.append(f"{where}: no `NAME` in the first cell")
        if kind not in KINDS:
            out.append(f"{where}: 'For' is '{kind}', not one of {sorted(KINDS)}")
        for n in names:
            if n in listed:
                out.append(f"{where}: {n} is listed again (first at docs/config.md:{listed[n]})")
            listed.setdefault(n, line)
        if not fl:
            out.append(f"{where}: no file in the last column")
        for f in fl:
            if f not in files:
                out.append(f"{where}: {f} (last column) does not exist or is not scanned")
            elif not any(re.search(r"\b%s\b" % re.escape(n), files[f]) for n in names):
                out.append(f"{where}: {f} does not mention {', '.join(names)}")
    creads, csets, errors = c_reads(files)
    out += errors
    sreads = script_reads(files)
    for n, paths in sorted(creads.items()):
        if n not in listed:
            out.append(f"{n} is read in {', '.join(sorted(set(paths)))} but missing from docs/config.md's table")
    for n, paths in sorted(csets.items()):
        if n not in listed:
            out.append(f"{n} is set in {', '.join(sorted(set(paths)))} but missing from docs/config.md's table")
    for n, paths in sorted(sreads.items()):
        if n.startswith("RTK_") and n not in listed:
            out.append(f"{n} is read in {', '.join(sorted(set(paths)))} but missing from docs/config.md's table")
    for line, names, kind, fl, _ in rows:
        for n in names:
            if not n.startswith("RTK_") or n in creads or n in sreads or any_read(files, n):
                continue
            if kind == "internal" and (n in csets or any_set(files, n)):
                continue
            out.append(f"docs/config.md:{line}: {n} is listed but nothing reads it")
    return out


def selftest(files):
    """each seeded fault must produce a finding that names it"""
    src = "src/core/timers.c"
    cases = [
        ("a new getenv", {src: files[src] + '\nint rtk_fake(void) { return getenv("RTK_FAKE_ONE") != 0; }\n'},
         "RTK_FAKE_ONE"),
        ("a secure_getenv in a .cu file", {"src/cuda/fake.cu": 'int f() { return std::secure_getenv("RTK_FAKE_CU") != 0; }\n'},
         "RTK_FAKE_CU"),
        ("through a parameter", {src: files[src] + '\nstatic int on(const char *var) {\n  if (var) {\n    return getenv(var) != 0;\n  }\n  return 0;\n}\n'
                                 'int rtk_fake(void) { return on("RTK_FAKE_PARAM"); }\n'}, "RTK_FAKE_PARAM"),
        ("through an array", {src: files[src] + '\nint rtk_fake(void) { static const char *const vs[] = {"RTK_FAKE_ARR", 0};\n'
                              '  return getenv(vs[0]) != 0; }\n'}, "RTK_FAKE_ARR"),
        ("through a macro", {src: files[src] + '\n#define ENVFLAG(x) (getenv("RTK_" #x) != 0)\n'
                             'int rtk_fake(void) { return ENVFLAG(FAKE_MACRO); }\n'}, "RTK_FAKE_MACRO"),
        ("an unresolvable argument", {src: files[src] + '\nint rtk_fake(char *b) { return getenv(b + 1) != 0; }\n'},
         "cannot tell"),
        ("a non-RTK variable in C", {src: files[src] + '\nint rtk_fake(void) { return getenv("FAKE_STD_VAR") != 0; }\n'},
         "FAKE_STD_VAR"),
        ("a script parameter", {"scripts/fake.sh": 'x=${RTK_FAKE_SH:-1}\n'}, "RTK_FAKE_SH"),
        ("a stale row", {"docs/config.md": files["docs/config.md"].rstrip("\n") +
                         "\n| `RTK_FAKE_ROW` | nothing | - | user | `src/core/timers.c` |\n"}, "RTK_FAKE_ROW"),
        ("a wrong file", {"docs/config.md": files["docs/config.md"].replace(
            "| diagnostic | `src/core/timers.c` |", "| diagnostic | `src/core/vmath.c` |", 1)}, "src/core/vmath.c"),
        ("a row removed", {"docs/config.md": re.sub(r"\n\| `RTK_JOURNAL_SYNC` \|[^\n]*", "",
                                                    files["docs/config.md"])}, "RTK_JOURNAL_SYNC"),
        ("a getenv in a comment is no read", {src: files[src] + '\n/* getenv("RTK_FAKE_COMMENT") */\n'}, None),
    ]
    bad = 0
    for what, change, expect in cases:
        found = check({**files, **change})
        ok = (not found) if expect is None else any(expect in f for f in found)
        print(f"selftest: {what}: {'found' if found else 'nothing found'} -> {'ok' if ok else 'FAIL'}")
        if not ok:
            print("  " + "\n  ".join(found or ["(no findings)"]))
            bad += 1
    return bad


def main():
    args = [a for a in sys.argv[1:] if a != "--selftest"]
    root = args[0] if args else os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    files = load_tree(root)
    found = check(files)
    if "--selftest" in sys.argv:
        if found:
            print("the unmodified tree has findings; fix them first:\n  " + "\n  ".join(found))
            return 1
        return 1 if selftest(files) else 0
    for f in found:
        print("FAIL " + f)
    rows = table(files["docs/config.md"]) or []
    creads, _, _ = c_reads(files)
    print(f"docs/config.md: {sum(len(r[1]) for r in rows)} variables in {len(rows)} rows; "
          f"{len(creads)} read by C code, {len(script_reads(files))} RTK_ parameters read by scripts; "
          f"{len(found)} finding(s)")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
