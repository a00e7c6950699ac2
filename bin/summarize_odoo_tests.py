"""Turn an Odoo test-runner log into a plain "N passed, N failed, N skipped" line.

Exit status: 0 only if Odoo exited 0, at least one test ran, nothing failed
or errored, no module failed to load, and no browser tour was skipped (Odoo
skips tours when Chromium or websocket-client is missing; a skipped tour is
not a passing tour).
"""

import re
import sys

STATS = re.compile(r"(\d+) failed, (\d+) error\(s\) of (\d+) tests when loading database")
SKIP = re.compile(r"skipped (\S+) : (.*)$")
TOUR_SKIP = re.compile(r"chrome|chromium|websocket|browser|devtools", re.IGNORECASE)
BROKEN = re.compile(
    r" (CRITICAL|ERROR) .*(Failed to initialize database|Failed to load registry|"
    r"ParseError|Some modules are not loaded|module .* failed)",
    re.IGNORECASE,
)


def main(log_path, odoo_rc):
    text = open(log_path, encoding="utf-8", errors="replace").read()
    stats = STATS.findall(text)
    skips = SKIP.findall(text)
    tour_skips = [(test, why) for test, why in skips if TOUR_SKIP.search(why)]
    broken = [m.group(0) for m in BROKEN.finditer(text)]
    if stats:
        failures, errors, run = (int(x) for x in stats[-1])
    else:
        failures = errors = run = 0
    failed = failures + errors + len(tour_skips)
    skipped = len(skips) - len(tour_skips)
    passed = max(run - failures - errors - len(skips), 0)
    problems = []
    if odoo_rc:
        problems.append(f"Odoo exited with status {odoo_rc}")
    if not stats:
        problems.append("no test statistics in the log (did the modules install?)")
    elif run == 0:
        problems.append("no test ran")
    for test, why in tour_skips:
        problems.append(f"browser tour skipped, counted as failed: {test}: {why}")
    problems.extend(broken)
    if problems and not failed:
        failed = 1
    for problem in problems:
        print(f"PROBLEM: {problem}")
    print(f"{passed} passed, {failed} failed, {skipped} skipped")
    return 1 if problems or failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], int(sys.argv[2])))
