#!/usr/bin/python3
"""The sizes the project aims to keep small (docs/development.md): the largest source files and the
longest functions of src/, include/ and analysis/, and how many pass 700 lines and 60 lines. A C
function runs from the line of its signature to its closing brace at the start of a line; a Python
function from its `def` to the last non-blank line before code at its own indentation or less.

Usage: code_sizes.py [ROOT]   (ROOT: a checkout, default .; compare two with `git worktree add`)
"""
import glob
import os
import re
import sys


def c_functions(path):
    out, start, name = [], None, None
    for i, line in enumerate(open(path).read().split("\n")):
        if start is None and re.match(r"^[A-Za-z][^;=]*\([^;]*$", line) and not line.startswith(("typedef", "static const")):
            m = re.search(r"(\w+)\s*\(", line)
            if m:
                start, name = i, m.group(1)
        elif start is not None and line == "}":
            out.append((i - start + 1, f"{path}:{name}"))
            start = None
    return out


def py_functions(path):
    lines, out = open(path).read().split("\n"), []
    for i, line in enumerate(lines):
        m = re.match(r"(\s*)def (\w+)", line)
        if not m:
            continue
        indent, end = len(m.group(1)), len(lines)
        for k in range(i + 1, len(lines)):
            text = lines[k]
            if text.strip() and len(text) - len(text.lstrip()) <= indent and not text.lstrip().startswith(("#", ")", "]", "}")):
                end = k
                break
        while end > i and not lines[end - 1].strip():
            end -= 1
        out.append((end - i, f"{path}:{m.group(2)}"))
    return out


def main(root):
    os.chdir(root)
    files = sorted(glob.glob("src/*.c") + glob.glob("include/*.h") + glob.glob("analysis/*.py") + glob.glob("analysis/*/*.py"))
    sizes = sorted(((sum(1 for _ in open(f)), f) for f in files), reverse=True)
    funcs = sorted(sum((c_functions(f) if f.endswith(".c") else py_functions(f) if f.endswith(".py") else [] for f in files), []),
                   reverse=True)
    print("largest files:", ", ".join(f"{p} {n}" for n, p in sizes[:8]))
    print("files over 700 lines:", sum(1 for n, _ in sizes if n > 700))
    print("longest functions:", ", ".join(f"{p} {n}" for n, p in funcs[:10]))
    print("functions over 60 lines:", sum(1 for n, _ in funcs if n > 60))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "."))
