#!/usr/bin/env python3
"""Prints the tests ctest skipped, grouped by the reason each gave, from ctest's JUnit report
(`ctest --output-junit FILE`): a GoogleTest case's GTEST_SKIP message, or a script's last line
before it exited with its SKIP_RETURN_CODE.

usage: skip_reasons.py JUNIT_XML
"""
import collections
import sys
import xml.etree.ElementTree as ElementTree


def reason(output):
    lines = [line.strip() for line in (output or '').splitlines() if line.strip()]
    for i, line in enumerate(lines):
        # GoogleTest: 'FILE:LINE: Skipped', then the message.
        if line.endswith(': Skipped') and i + 1 < len(lines):
            return lines[i + 1]
    return lines[-1] if lines else '(the test said nothing)'


def main():
    if len(sys.argv) != 2:
        print(__doc__.strip())
        return 2
    by_reason = collections.defaultdict(list)
    for case in ElementTree.parse(sys.argv[1]).getroot().iter('testcase'):
        if case.find('skipped') is None:
            continue
        name = case.get('name', '').split('  # ')[0]
        by_reason[reason(case.findtext('system-out'))].append(name)
    for why, names in sorted(by_reason.items(), key=lambda item: -len(item[1])):
        print(f'skipped {len(names)}: {why}')
        for name in names[:3]:
            print(f'    {name}')
        if len(names) > 3:
            print(f'    ... and {len(names) - 3} more')
    return 0


if __name__ == '__main__':
    sys.exit(main())
