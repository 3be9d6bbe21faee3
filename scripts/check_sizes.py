#!/usr/bin/env python3
"""The size check (make check): no C function over 60 lines, no source file over 800.

A function is a body opened by "{" and closed by "}" at the start of a line (the tree's
clang-format style); its length is the lines between them. Short functions and files keep
each unit readable on one screen (STYLE.md). Usage: check_sizes.py [SRCDIR]."""
import os
import sys

MAX_FUNCTION = 60
MAX_FILE = 800
ROOTS = ("include", "src", "plugins", "examples")


def function_lengths(lines):
    """(first line, body length, signature) of every top-level function."""
    start = None
    for i, line in enumerate(lines):
        if line.startswith("{"):
            start = i
        elif line.startswith("}") and start is not None:
            head = start - 1
            while head > 0 and lines[head][:1].isspace():  # a signature over several lines
                head -= 1
            sig = lines[head].strip() if head >= 0 else ""
            yield start + 1, i - start - 1, sig
            start = None


def problems(top):
    for root in ROOTS:
        for dirpath, _, names in os.walk(os.path.join(top, root)):
            for name in sorted(names):
                if not name.endswith((".c", ".h")):
                    continue
                path = os.path.join(dirpath, name)
                rel = os.path.relpath(path, top)
                with open(path, encoding="utf-8") as f:
                    lines = f.read().split("\n")
                if len(lines) - 1 > MAX_FILE:
                    yield f"{rel}: {len(lines) - 1} lines (at most {MAX_FILE})"
                for lineno, n, sig in function_lengths(lines):
                    if n > MAX_FUNCTION:
                        yield f"{rel}:{lineno}: function of {n} lines (at most {MAX_FUNCTION}): {sig}"


def main():
    top = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..")
    bad = list(problems(top))
    for p in bad:
        print(p)
    print(f"check_sizes: {len(bad)} over the limits")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
