#!/usr/bin/env python3
"""Computes the summary line of scripts/test.sh from the listed tests and the TRX results.

usage: test-summary.py LISTED_TESTS_FILE SUMMARY_FILE TRX...

LISTED_TESTS_FILE is the output of `dotnet test --list-tests` with the run's filter. Every
listed test without a result in any TRX file counts as failed: when the test host crashes
(Environment.FailFast, a stack overflow) or the blame hang timeout kills it, the TRX holds
only the results that arrived before, and its counters say nothing about the rest.

Prints each failed test (name, duration, first lines of message and stack trace), then up to
NOT_RUN_SHOWN tests that never ran, then the line "N passed, M failed[, K skipped]", which it
also writes to SUMMARY_FILE. Exits 0 only when at least one test ran and none failed or went
missing."""
import sys
import xml.etree.ElementTree as ET
from collections import Counter

NS = "{http://microsoft.com/schemas/VisualStudio/TeamTest/2010}"
NOT_RUN_SHOWN = 10
LIST_HEADER = "The following Tests are available:"


def listed_tests(path):
    """Names under each 'The following Tests are available:' header (four-space indented)."""
    names, in_list = [], False
    with open(path, encoding="utf-8", errors="replace") as listing:
        for raw in listing:
            line = raw.rstrip("\r\n")
            if line.strip() == LIST_HEADER:
                in_list = True
            elif in_list and line.startswith("    ") and line.strip():
                names.append(line.strip())
            else:
                in_list = False
    return names


def results(paths):
    """(outcome, name, duration, message, stack) for each UnitTestResult; unreadable files reported."""
    found, unreadable = [], []
    for path in paths:
        try:
            root = ET.parse(path).getroot()
        except (OSError, ET.ParseError) as error:
            unreadable.append(f"{path}: {error}")
            continue
        for result in root.iter(NS + "UnitTestResult"):
            info = result.find(f"{NS}Output/{NS}ErrorInfo")
            message = info.findtext(NS + "Message") if info is not None else None
            stack = info.findtext(NS + "StackTrace") if info is not None else None
            found.append((result.get("outcome"), result.get("testName") or "", result.get("duration"), message, stack))
    return found, unreadable


def not_run(listed, ran_names):
    """Listed tests without a result. A listed name counts once per listing and once per result;
    a theory listed as one case (non-serializable data) is covered by results named 'Name(...)'."""
    ran = Counter(ran_names)
    prefixes = {name.split("(", 1)[0] for name in ran_names if "(" in name}
    missing = []
    for name, count in Counter(listed).items():
        have = ran.get(name, 0)
        if have == 0 and "(" not in name and name in prefixes:
            continue
        missing.extend([name] * max(0, count - have))
    return missing


def main(argv):
    if len(argv) < 2:
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    listing, summary_file, trx_files = argv[0], argv[1], argv[2:]
    listed = listed_tests(listing)
    found, unreadable = results(trx_files)
    for problem in unreadable:
        print(f"test-summary: cannot read {problem}")

    passed = sum(1 for r in found if r[0] == "Passed")
    skipped = sum(1 for r in found if r[0] == "NotExecuted")
    failures = [r for r in found if r[0] not in ("Passed", "NotExecuted")]
    missing = not_run(listed, [r[1] for r in found])

    for outcome, name, duration, message, stack in failures:
        print(f"FAILED {name} [{outcome}, {duration}]")
        for text, keep in ((message, 12), (stack, 8)):
            for line in (text or "").strip().splitlines()[:keep]:
                print(f"    {line.rstrip()}")
    if missing:
        print(f"NOT RUN: {len(missing)} listed test(s) have no result (test host crashed or was killed?):")
        for name in missing[:NOT_RUN_SHOWN]:
            print(f"    {name}")
        if len(missing) > NOT_RUN_SHOWN:
            print(f"    ... and {len(missing) - NOT_RUN_SHOWN} more")
    if not listed:
        print("test-summary: the test listing is empty or missing, so tests that never ran cannot be counted")

    failed = len(failures) + len(missing)
    line = f"{passed} passed, {failed} failed"
    if skipped:
        line += f", {skipped} skipped"
    with open(summary_file, "w", encoding="utf-8") as out:
        out.write(line + "\n")
    print(line)
    ran_any = passed + len(failures) > 0
    return 0 if ran_any and failed == 0 and not unreadable and listed else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
