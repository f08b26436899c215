#!/usr/bin/env python3
"""usage: check_prefetches.py SOURCE_DIR OBJDUMP OBJECT...

A CPU kernel that asks for memory ahead of its use (__builtin_prefetch) only helps if the compiler
kept the request: GCC 12 once removed every prefetch of the row updates as dead code, silently,
and the kernel ran at half speed (docs/benchmarks.md, session 23). Fails, naming the object, when
the object of a kernel source (SOURCE_DIR/kernels/NAME.cpp for NAME.cpp.o) that calls
__builtin_prefetch holds no prefetch instruction, or when no object was checked at all.
"""
import os
import re
import subprocess
import sys


def main():
    source_dir, objdump, objects = sys.argv[1], sys.argv[2], sys.argv[3:]
    failures, checked = [], 0
    for path in objects:
        name = re.sub(r"\.o(bj)?$", "", os.path.basename(path))
        source = os.path.join(source_dir, "kernels", name)
        if not os.path.isfile(source):
            continue
        with open(source, encoding="utf-8") as f:
            if "__builtin_prefetch" not in f.read():
                continue
        checked += 1
        listing = subprocess.run([objdump, "-d", "--no-show-raw-insn", path], check=True,
                                 capture_output=True, text=True).stdout
        if not re.search(r"\sprefetch\w*\s", listing):
            failures.append(f"{path}: {name} calls __builtin_prefetch, the object has no prefetch")
    if checked == 0:
        failures.append("no object of a kernel source that prefetches was given")
    for failure in failures:
        print(failure)
    print(f"{checked} objects checked")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
