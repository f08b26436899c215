#!/usr/bin/env python3
"""usage: check_cpu_variant_symbols.py NM OBJDUMP OBJECT...

The AVX2 and AVX-512 compilations of the CPU kernels (cmake/CpuVariants.cmake) may share code
with other compilations: an inline function or template they do not inline (std::vector's
destructor in an unoptimised build, say) is defined in several objects, and the linker keeps one
copy. If it kept a copy that uses AVX registers, the baseline path could run AVX instructions on
a CPU without them. Fails, naming the object and function, when a function defined in a variant
object without its CpuCapability in the name uses ymm or zmm registers there, or when an object
holds no kernel compiled for its capability.
"""
import re
import subprocess
import sys


def run(*command):
    return subprocess.run(command, check=True, capture_output=True, text=True).stdout


def main():
    nm, objdump, objects = sys.argv[1], sys.argv[2], sys.argv[3:]
    failures = []
    for path in objects:
        shared, found_kernel = set(), False
        for line in run(nm, "-C", "--defined-only", path).splitlines():
            match = re.match(r"^[0-9a-f]+ [TWi] (.*)$", line)
            if not match:
                continue
            if re.search(r"polyphony::kernels::CpuCapability\)[12]", match.group(1)):
                found_kernel = True
            else:
                shared.add(match.group(1))
        if not found_kernel:
            failures.append(f"{path}: no kernel compiled for a capability above the baseline")
        body, current = {}, None
        for line in run(objdump, "-d", "-C", "--no-show-raw-insn", path).splitlines():
            match = re.match(r"^[0-9a-f]+ <(.*)>:$", line)
            if match:
                current = match.group(1)
                body.setdefault(current, [])
            elif current is not None:
                body[current].append(line)
        for name in sorted(shared):
            if any(re.search(r"%[yz]mm", line) for line in body.get(name, [])):
                failures.append(f"{path}: shared function uses AVX registers: {name}")
    for failure in failures:
        print(failure)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
