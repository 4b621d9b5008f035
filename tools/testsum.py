#!/usr/bin/env python3
"""tools/testsum.py — count test cases across build dirs: TAP cases from meson's testlog.json
(one per `ok`/`not ok` line; a non-TAP test counts as one case), and pytest's JUnit XML (e2e in
every build dir; the browser tests where tools/dev.sh ran them, which is the first build dir).
Prints per-suite counts and the closing line `N passed, M failed`."""
import json
import re
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

TAP = re.compile(r"^(not ok|ok)\b(.*)$")
PLAN = re.compile(r"^\d+\.\.\d+", re.M)


def meson_counts(build):
    counts = {}
    log = Path(build) / "meson-logs" / "testlog.json"
    if not log.exists():
        return counts
    for line in log.read_text().splitlines():
        t = json.loads(line)
        # name is "project:suite / test"
        suite = t["name"].split(" / ")[0].split(":")[-1]
        out_text = t.get("stdout") or ""
        passed = failed = 0
        if PLAN.search(out_text):  # a TAP test binary: count its cases
            for out in out_text.splitlines():
                m = TAP.match(out)
                if m:
                    skip = "# SKIP" in m.group(2).upper()
                    if m.group(1) == "ok" and not skip:
                        passed += 1
                    elif m.group(1) == "not ok":
                        failed += 1
            if t.get("result") not in ("OK", "SKIP", "EXPECTEDFAIL"):
                failed += 1  # crashed, timed out, or bad plan: the binary itself failed
        elif t.get("result") == "OK":
            passed += 1
        elif t.get("result") != "SKIP":
            failed += 1
        p, f = counts.get(suite, (0, 0))
        counts[suite] = (p + passed, f + failed)
    return counts


def junit_counts(path):
    if not path.exists():
        return (0, 1)  # pytest did not even write its report
    root = ET.parse(path).getroot()
    passed = failed = 0
    for case in root.iter("testcase"):
        if case.find("failure") is not None or case.find("error") is not None:
            failed += 1
        elif case.find("skipped") is None:
            passed += 1
    return (passed, failed)


def main():
    total_p = total_f = 0
    for build in sys.argv[1:]:
        counts = meson_counts(build)
        counts["e2e"] = junit_counts(Path(build) / "e2e-junit.xml")
        if build == sys.argv[1]:  # a missing report there counts as a failure, as for e2e
            counts["browser"] = junit_counts(Path(build) / "browser-junit.xml")
        for suite, (p, f) in sorted(counts.items()):
            print(f"{build:12} {suite:8} {p:5} passed, {f} failed")
            total_p += p
            total_f += f
    print(f"{total_p} passed, {total_f} failed")


if __name__ == "__main__":
    main()
