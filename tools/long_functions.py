#!/usr/bin/env python3
"""Lists the longest function bodies in C++ sources.

usage: tools/long_functions.py [--max N] [--top K] [PATH...]   (default: engine/src)

Counts the lines from a function's signature to its closing brace, lambdas and local classes
included in the function that holds them. With --max N it exits 1 when any function is longer
than N lines, so CI can hold the line. The parser is a brace matcher over source with comments,
strings and character literals blanked out: good enough for this code base, whose style
(clang-format, one definition per signature) it relies on.
"""
import argparse
import os
import re
import sys

CONTROL = {"if", "for", "while", "switch", "catch", "return", "sizeof", "alignof", "decltype",
           "noexcept", "static_assert", "requires"}
SCOPE_WORDS = re.compile(r"\b(namespace|class|struct|union|enum)\b")


def blank(text):
    """Replaces comments, string and char literals with spaces, keeping line breaks."""
    out = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if text.startswith("//", i):
            j = text.find("\n", i)
            j = n if j < 0 else j
            out.append(" " * (j - i))
            i = j
        elif text.startswith("/*", i):
            j = text.find("*/", i + 2)
            j = n if j < 0 else j + 2
            out.append(re.sub(r"[^\n]", " ", text[i:j]))
            i = j
        elif c == 'R' and text.startswith('R"', i) and (i == 0 or not (text[i-1].isalnum() or text[i-1] == '_')):
            m = re.match(r'R"([^(\s]*)\(', text[i:])
            if not m:
                out.append(c)
                i += 1
                continue
            end = ")" + m.group(1) + '"'
            j = text.find(end, i + m.end())
            j = n if j < 0 else j + len(end)
            out.append('""' + re.sub(r"[^\n]", " ", text[i + 2:j]))
            i = j
        elif c in "\"'":
            if c == "'" and i > 0 and text[i - 1].isalnum():  # digit separator 1'000
                out.append(" ")
                i += 1
                continue
            j = i + 1
            while j < n and text[j] != c:
                j += 2 if text[j] == "\\" else 1
            j = min(j + 1, n)
            out.append(c + re.sub(r"[^\n]", " ", text[i + 1:j - 1]) + c if j - i >= 2 else c)
            i = j
        elif c == "#" and (i == 0 or text[i - 1] == "\n"):
            j = i
            while True:  # preprocessor line, with continuations
                k = text.find("\n", j)
                if k < 0:
                    k = n
                    break
                if text[k - 1] != "\\":
                    break
                j = k + 1
            out.append(re.sub(r"[^\n]", " ", text[i:k]))
            i = k
        else:
            out.append(c)
            i += 1
    return "".join(out)


def functions(path):
    text = blank(open(path, encoding="utf-8", errors="replace").read())
    stack = []  # (kind, start_line, name)
    head_start = 0  # offset where the current declaration began
    line = 1
    results = []
    for i, c in enumerate(text):
        if c == "\n":
            line += 1
        elif c in ";":
            if not stack or stack[-1][0] in ("ns", "class"):
                head_start = i + 1
        elif c == "{":
            head = text[head_start:i]
            outer = stack[-1][0] if stack else "ns"
            if outer in ("ns", "class"):
                kind = "block"
                name = ""
                if SCOPE_WORDS.search(head) and "(" not in head.split("=")[0]:
                    kind = "ns" if re.search(r"\bnamespace\b|extern\s*\"", head) else "class"
                elif re.search(r'extern\s*""\s*$', head.strip()) or head.strip().startswith('extern ""'):
                    kind = "ns"
                elif "(" in head:
                    m = None
                    for m in re.finditer(r"([~\w:]+(?:operator\s*\S+?)?)\s*\(", head):
                        if m.group(1).split("::")[-1] not in CONTROL:
                            break
                    name = m.group(1) if m else "?"
                    kind = "fn"
                else:
                    kind = "init"  # a braced initialiser at namespace/class scope
                start = line - head.count("\n") + (len(head) - len(head.lstrip())) and \
                    line - head.lstrip().count("\n")
                stack.append((kind, start, name))
            else:
                stack.append(("block", line, ""))
            head_start = i + 1
        elif c == "}":
            if stack:
                kind, start, name = stack.pop()
                if kind == "fn":
                    results.append((line - start + 1, path, start, name))
            if not stack or stack[-1][0] in ("ns", "class"):
                head_start = i + 1
    return results


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("paths", nargs="*", default=["engine/src"])
    ap.add_argument("--top", type=int, default=15, help="how many to list (default 15)")
    ap.add_argument("--max", type=int, default=0, help="fail when a function is longer")
    args = ap.parse_args()
    found = []
    for p in args.paths:
        files = [p] if os.path.isfile(p) else [
            os.path.join(d, f) for d, _, fs in os.walk(p) for f in fs
            if f.endswith((".cpp", ".hpp", ".h", ".cc"))]
        for f in sorted(files):
            found.extend(functions(f))
    found.sort(key=lambda r: (-r[0], r[1], r[2]))
    for lines, path, start, name in found[:args.top]:
        print(f"{lines:5d}  {path}:{start}  {name}")
    if args.max:
        over = [r for r in found if r[0] > args.max]
        if over:
            print(f"{len(over)} function(s) longer than {args.max} lines", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
