#!/usr/bin/env python3
"""Prints the hot loop of one function of a clang assembly file (AArch64 or x86 AT&T), for
llvm-mca: among the loops closed by a backward branch that contain no other loop, no call
(the tails call memcpy) and no non-temporal store, the one with the most instructions. Then,
on stderr, the vector loads per iteration (q registers on AArch64, zmm memory operands on
x86), from which mca.sh checks the elements per iteration that the kernel's name promises.

Usage: hot_loop.py FILE.s FUNCTION
"""
import re
import sys

BRANCH = re.compile(r"^\s*(b\.\w+|b|cbnz|cbz|tbnz|tbz|j\w+)\s+(?:[^,]+,\s*)*(\.L\w+)\s*$")
LABEL = re.compile(r"^(\.L\w+|\w+):")


def function_lines(path, name):
    lines, inside = [], False
    for line in open(path):
        if line.startswith(name + ":"):
            inside = True
            continue
        if inside:
            if line.startswith(".Lfunc_end") or re.match(r"^\w+:", line):
                break
            lines.append(line.rstrip("\n"))
    if not lines:
        sys.exit(f"hot_loop.py: no function {name} in {path}")
    return lines


def is_instruction(line):
    text = line.split("//")[0].split("#")[0].strip()
    return bool(text) and not text.startswith(".") and not LABEL.match(text)


def hot_loop(lines):
    labels = {}
    loops = []
    for index, line in enumerate(lines):
        label = LABEL.match(line)
        if label:
            labels[label.group(1)] = index
        branch = BRANCH.match(line.split("//")[0])
        if branch and branch.group(2) in labels:  # a backward branch closes a loop
            loops.append((labels[branch.group(2)], index))
    innermost = [
        (start, end)
        for start, end in loops
        if not any(s >= start and e <= end and (s, e) != (start, end) for s, e in loops)
        and not any(re.match(r"\s*(bl|call\w*)\s", l) for l in lines[start : end + 1])
        # The x86 output kernels have a streaming-store twin of their loop; NEON has none, and
        # in cache the ordinary stores are the ones used.
        and not any("movnt" in l for l in lines[start : end + 1])
    ]
    if not innermost:
        sys.exit("hot_loop.py: no loop found")
    body = max(
        ([l for l in lines[s : e + 1] if is_instruction(l)] for s, e in innermost), key=len
    )
    return body


def vector_loads(body):
    count = 0
    for line in body:
        if "Reload" in line:  # a register spilled and reloaded, not the input
            continue
        text = line.strip()
        if re.match(r"ldp\s+q", text):
            count += 2
        elif re.match(r"ldu?r\s+q", text):
            count += 1
        elif re.match(r"ld1\s+\{", text) and ".4s" in text:  # ld1 {v0.4s, v1.4s, ...}
            count += text.count(".4s")
        elif "zmm" in text and re.search(r"\(%r\w+(,%r\w+,\d)?\)", text) and not re.match(
            r"vmov(ups|aps|ntps)\s+%zmm", text
        ):
            count += 1
    return count


if __name__ == "__main__":
    body = hot_loop(function_lines(sys.argv[1], sys.argv[2]))
    print("\n".join(body))
    print(vector_loads(body), file=sys.stderr)
