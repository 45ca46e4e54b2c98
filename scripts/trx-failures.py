#!/usr/bin/env python3
"""Prints each failed test in the given TRX files: its name, duration, and the first
lines of its error message and stack trace (used by scripts/test.sh at the end of a run)."""
import sys
import xml.etree.ElementTree as ET

NS = "{http://microsoft.com/schemas/VisualStudio/TeamTest/2010}"

for path in sys.argv[1:]:
    try:
        root = ET.parse(path).getroot()
    except (OSError, ET.ParseError) as error:
        print(f"trx-failures: cannot read {path}: {error}")
        continue
    for result in root.iter(NS + "UnitTestResult"):
        if result.get("outcome") not in ("Failed", "Error", "Timeout", "Aborted"):
            continue
        print(f"FAILED {result.get('testName')} [{result.get('duration')}]")
        info = result.find(f"{NS}Output/{NS}ErrorInfo")
        for tag, keep in (("Message", 12), ("StackTrace", 8)):
            text = info.findtext(NS + tag) if info is not None else None
            for line in (text or "").strip().splitlines()[:keep]:
                print(f"    {line.rstrip()}")
