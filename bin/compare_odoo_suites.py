"""Compare two Odoo test-runner logs: stock Odoo vs Odoo with our addons.

Prints passed/failed for both, the tests that fail only with our addons (and
those that fail only on stock), and ends with a plain "N passed, N failed"
line for our database. Exit status 0 only if no test fails only with our
addons and both runs produced test statistics.
"""

import re
import sys

STATS = re.compile(r"(\d+) failed, (\d+) error\(s\) of (\d+) tests when loading database")
# Odoo 18 logs "FAIL: TestClass.test_name" or "FAIL: Subtest TestClass.test_name (params)".
FAILED_TEST = re.compile(r" (?:ERROR|CRITICAL) \S+ \S+: (?:FAIL|ERROR): (?:Subtest )?(\S+)")


def read(log_path):
    text = open(log_path, encoding="utf-8", errors="replace").read()
    stats = STATS.findall(text)
    failures, errors, run = (int(x) for x in stats[-1]) if stats else (0, 0, 0)
    failed = set(FAILED_TEST.findall(text))
    return {
        "ran": run,
        "failed_count": failures + errors,
        "failed": failed,
        "has_stats": bool(stats),
    }


def main(stock_log, ours_log):
    stock, ours = read(stock_log), read(ours_log)
    print(f"{'database':<8} {'tests':>6} {'passed':>7} {'failed':>7}")
    for name, res in (("stock", stock), ("ours", ours)):
        passed = res["ran"] - res["failed_count"]
        print(f"{name:<8} {res['ran']:>6} {passed:>7} {res['failed_count']:>7}")
    only_ours = sorted(ours["failed"] - stock["failed"])
    only_stock = sorted(stock["failed"] - ours["failed"])
    print(f"Fail only with our addons ({len(only_ours)}):")
    for test in only_ours:
        print(f"  {test}")
    if only_stock:
        print(f"Fail only on stock ({len(only_stock)}):")
        for test in only_stock:
            print(f"  {test}")
    problems = [
        f"no test statistics in {log}"
        for log, res in ((stock_log, stock), (ours_log, ours))
        if not res["has_stats"]
    ]
    for problem in problems:
        print(f"PROBLEM: {problem}")
    print(f"{ours['ran'] - ours['failed_count']} passed, {ours['failed_count']} failed")
    return 1 if problems or only_ours else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
