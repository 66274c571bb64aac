#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""What the README's two commands (scripts/demo.sh, scripts/test.sh and
everything test.sh runs) and the project's other scripts (each a command
of its own, such as a benchmark) need from the machine, read from the
sources - .ci/run, scripts/*.sh, tests/bats/*.bats and *.bash, the
Python tools, the meson files:

  cmd NAME WHERE        a program run by name: the first word of every
                        simple command of the shell scripts and bats suites
                        (shfmt's syntax tree, so heredocs, strings and
                        comments are not taken for commands), the command
                        behind run/exec/env/timeout/..., the names checked
                        with `command -v` (also through a loop or a helper
                        function over its arguments), and the first word of
                        the subprocess calls of the Python tools
  path PATH WHERE       an absolute path such a check names (/usr/sbin/nginx)
  pkgconfig NAME WHERE  a meson dependency()

Names that are shell builtins or keywords, functions of the scanned files,
or that resolve to no program on this machine (so no test here could use
them either) are left out. Usage: pristine-commands.py TOP; one
tab-separated line each on stdout, sorted.
"""
import glob
import json
import os
import re
import shutil
import subprocess
import sys

# Wrappers whose operand is itself a command: how many leading words
# (after their options) are not the command.
WRAPPERS = {"run": 0, "exec": 0, "command": 0, "env": 0, "timeout": 1,
            "setsid": 0, "nice": 0, "nohup": 0, "time": 0, "xargs": 0,
            "setpriv": 0, "unshare": 0, "flock": 1, "stdbuf": 0}
SBIN_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
PY_CALL = re.compile(r"""subprocess\.(?:run|Popen|check_output|check_call|call)\(\s*\[\s*["']([A-Za-z0-9._+-]+)["']""")
MESON_DEP = re.compile(r"""dependency\(\s*'([A-Za-z0-9._+-]+)'""")
NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9._+-]*$")


def lit(word):
    """The text of a word made of literal parts only, else None."""
    if not word:
        return None
    out = []
    for p in word.get("Parts", []):
        t = p.get("Type")
        if t == "Lit":
            out.append(p.get("Value", ""))
        elif t in ("SglQuoted",):
            out.append(p.get("Value", ""))
        elif t == "DblQuoted" and all(q.get("Type") == "Lit" for q in p.get("Parts", [])):
            out.append("".join(q.get("Value", "") for q in p.get("Parts", [])))
        else:
            return None
    return "".join(out)


def param_name(word):
    """NAME if the word is just "$NAME" or $NAME."""
    parts = word.get("Parts", []) if word else []
    if len(parts) == 1 and parts[0].get("Type") == "DblQuoted":
        parts = parts[0].get("Parts", [])
    if len(parts) == 1 and parts[0].get("Type") == "ParamExp":
        return parts[0].get("Param", {}).get("Value")
    return None


def walk(node, fn, parents=()):
    if isinstance(node, dict):
        fn(node, parents)
        for v in node.values():
            walk(v, fn, parents + (node,))
    elif isinstance(node, list):
        for v in node:
            walk(v, fn, parents)


def command_words(args):
    """The command name(s) a call runs: the first word, and the operand of
    a wrapper (run, env, timeout...), recursively."""
    words = [lit(a) for a in args]
    out = []
    i = 0
    while i < len(words):
        w = words[i]
        if w is None:
            break
        out.append(w)
        if w not in WRAPPERS:
            break
        if w == "command" and i + 1 < len(words) and words[i + 1] in ("-v", "-V"):
            break  # a check, handled elsewhere
        skip = WRAPPERS[w]
        i += 1
        # options, VAR=value, the wrapper's own operands
        while i < len(words) and words[i] is not None and (
                words[i].startswith("-") or re.match(r"^[A-Za-z_][A-Za-z0-9_]*=", words[i])
                or words[i] == "!"):
            i += 1
        i += skip
    return out


def parse(path):
    lang = "bats" if path.endswith(".bats") else "bash"
    with open(path, "rb") as f:
        src = f.read()
    return json.loads(subprocess.run(["shfmt", "-ln", lang, "--to-json"], input=src,
                                     capture_output=True, check=True).stdout)


def scan_shell(rel, tree, found, funcs):
    checkers = {}  # function name -> True if it runs `command -v` on its args

    def where(node):
        pos = node.get("Pos", {})
        return "%s:%s" % (rel, pos.get("Line", "?"))

    def on_node(node, parents):
        t = node.get("Type")
        if t == "FuncDecl":
            funcs.add(node.get("Name", {}).get("Value"))
        if t != "CallExpr":
            return
        args = node.get("Args") or []
        for w in command_words(args):
            found.append(("cmd", w, where(node)))
        words = [lit(a) for a in args]
        if len(words) >= 3 and words[0] == "command" and words[1] == "-v":
            var = param_name(args[2])
            for w in words[2:]:
                if w:
                    found.append(("check", w, where(node)))
            if var:
                # a loop over literal names: for c in a b c; do command -v "$c"
                for p in reversed(parents):
                    if p.get("Type") == "ForClause":
                        loop = p.get("Loop", {})
                        if loop.get("Name", {}).get("Value") != var:
                            continue
                        items = loop.get("Items") or []
                        if not items or all(param_name(x) in ("@", "*") for x in items):
                            # over the function's arguments
                            for q in reversed(parents):
                                if q.get("Type") == "FuncDecl":
                                    checkers[q["Name"]["Value"]] = True
                                    break
                        else:
                            for x in items:
                                w = lit(x)
                                if w:
                                    found.append(("check", w, where(p)))
                        break

    walk(tree, on_node)
    return checkers


def main():
    os.chdir(sys.argv[1])
    found, funcs = [], set()
    shell = [".ci/run"] + sorted(glob.glob("scripts/*.sh")) + sorted(glob.glob("tests/bats/*.bash"))
    bats = sorted(glob.glob("tests/bats/*.bats"))
    trees = {p: parse(p) for p in shell + bats}
    checkers = {}
    for p, tree in trees.items():
        checkers.update(scan_shell(p, tree, found, funcs))
    # calls of the helpers that check their arguments with command -v
    # (need_tools a b c), wherever they are called from
    for p, tree in trees.items():
        def on_call(node, parents, p=p):
            if node.get("Type") != "CallExpr":
                return
            words = [lit(a) for a in node.get("Args") or []]
            if words and words[0] in checkers:
                for w in words[1:]:
                    if w and not w.startswith("-"):
                        found.append(("check", w, "%s:%s" % (p, node.get("Pos", {}).get("Line", "?"))))
        walk(tree, on_call)
    for p in shell + bats + sorted(glob.glob("scripts/*.py")) + sorted(glob.glob("tests/tools/*.py")) \
            + sorted(glob.glob("bench/*.py")) + sorted(glob.glob("bench/*.sh")):
        with open(p, encoding="utf-8", errors="replace") as f:
            for n, line in enumerate(f, 1):
                for m in PY_CALL.finditer(line):
                    found.append(("cmd", m.group(1), "%s:%d" % (p, n)))
    for p in sorted(glob.glob("meson.build") + glob.glob("*/meson.build")):
        with open(p, encoding="utf-8") as f:
            for n, line in enumerate(f, 1):
                for m in MESON_DEP.finditer(line):
                    if m.group(1) != "threads":
                        found.append(("pkgconfig", m.group(1), "%s:%d" % (p, n)))

    builtins = set(subprocess.run(["bash", "-c", "compgen -b -k"], capture_output=True,
                                  text=True, check=True).stdout.split())
    builtins.add("[[")
    out = {}
    for kind, name, where in found:
        if kind in ("cmd", "check"):
            if name.startswith("/"):
                key = ("path", name)
            elif not NAME.match(name) or name in builtins or name in funcs:
                continue
            elif not shutil.which(name, path=SBIN_PATH):
                continue
            else:
                key = ("cmd", name)
        else:
            key = (kind, name)
        out.setdefault(key, where)  # the first place it is used
    for (kind, name), where in sorted(out.items()):
        print("%s\t%s\t%s" % (kind, name, where))


if __name__ == "__main__":
    main()
