"""Gate: Odoo's own mail tests, stock vs with our addons, against a list of expected differences.

    compare_odoo_suites.py STOCK_LOG OURS_LOG [--expected FILE] [--readme README.md]

Reads two Odoo test-runner logs (the same test classes run on a stock database and
on one with our addons) and the expected-differences file: one
``TestClass.test_name  # why`` per line (``#`` lines and blank lines ignored).

Exit status 0 only if all of these hold:

* every test passes on stock (otherwise the bar itself is broken);
* every test that fails with our addons is listed in the expected file;
* every listed test ran and still fails with our addons (a listed test that now
  passes is a stale entry: remove it);
* both runs ran the same tests, and our addons were loaded before the first
  test of each suite ran (``at_install`` tests run while modules load);
* with ``--readme``, every listed test is named in the README.

Ends with a plain "N passed, N failed" line for the database with our addons.
"""

import argparse
import re
import sys

STATS = re.compile(r"(\d+) failed, (\d+) error\(s\) of (\d+) tests when loading database")
# Odoo 18 logs "FAIL: TestClass.test_name" or "FAIL: Subtest TestClass.test_name (params)".
FAILED_TEST = re.compile(r" (?:ERROR|CRITICAL) \S+ \S+: (?:FAIL|ERROR): (?:Subtest )?(\S+)")
STARTED_TEST = re.compile(r" INFO \S+ odoo\.addons\.(\w+)\.tests\.\S+: Starting (\w+\.\w+) \.\.\.")
LOADING_MODULE = re.compile(r" INFO \S+ odoo\.modules\.loading: Loading module (\w+) \(")
# Our addon that must be loaded before the tests of each Odoo test module start.
MUST_LOAD_FIRST = {
    "test_mail": "mail_reliability",
    "test_mass_mailing": "mail_reliability_mass_mailing",
}


def read_log(log_path):
    with open(log_path, encoding="utf-8", errors="replace") as handle:
        lines = handle.read().splitlines()
    text = "\n".join(lines)
    stats = STATS.findall(text)
    failures, errors, run = (int(x) for x in stats[-1]) if stats else (0, 0, 0)
    started, loaded, first_test = set(), {}, {}
    for number, line in enumerate(lines):
        match = STARTED_TEST.search(line)
        if match:
            started.add(match.group(2))
            first_test.setdefault(match.group(1), number)
            continue
        match = LOADING_MODULE.search(line)
        if match:
            loaded.setdefault(match.group(1), number)
    return {
        "ran": run,
        "failed_count": failures + errors,
        "failed": set(FAILED_TEST.findall(text)),
        "started": started,
        "loaded": loaded,
        "first_test": first_test,
        "has_stats": bool(stats),
    }


def read_expected(path):
    """{"TestClass.test_name": "why"} from the expected-differences file."""
    expected = {}
    with open(path, encoding="utf-8") as handle:
        for number, raw in enumerate(handle, start=1):
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            name, _sep, reason = line.partition("#")
            name, reason = name.strip(), reason.strip()
            if not re.fullmatch(r"\w+\.\w+", name) or not reason:
                raise SystemExit(
                    f"{path}:{number}: expected 'TestClass.test_name  # reason', got {line!r}"
                )
            expected[name] = reason
    return expected


def check(stock, ours, expected, readme_text=None):
    """The gate's verdict: a list of problems (empty when the gate passes)."""
    problems = []
    for name, res in (("stock", stock), ("ours", ours)):
        if not res["has_stats"]:
            problems.append(f"no test statistics in the {name} log (did Odoo crash?)")
    for test in sorted(stock["failed"]):
        problems.append(f"fails on STOCK Odoo too (the bar is broken): {test}")
    for test in sorted(ours["failed"] - set(expected)):
        problems.append(f"NEW failure with our addons, not in the expected list: {test}")
    for test in sorted(set(expected) - ours["failed"]):
        if test in ours["started"]:
            problems.append(f"STALE entry, now passes with our addons (remove it): {test}")
        else:
            problems.append(f"STALE entry, did not run at all: {test}")
    if stock["started"] != ours["started"] or stock["ran"] != ours["ran"]:
        only = sorted(stock["started"] ^ ours["started"])
        problems.append(
            f"the runs differ: stock ran {stock['ran']} tests, ours {ours['ran']}"
            + (f" (only in one: {', '.join(only)})" if only else "")
        )
    for test_module, addon in MUST_LOAD_FIRST.items():
        first = ours["first_test"].get(test_module)
        loaded = ours["loaded"].get(addon)
        if first is not None and (loaded is None or loaded > first):
            problems.append(f"{test_module} tests started before {addon} was loaded")
    if readme_text is not None:
        for test in sorted(set(expected)):
            if test.split(".", 1)[1] not in readme_text:
                problems.append(f"README does not name the expected difference {test}")
    return problems


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("stock_log")
    parser.add_argument("ours_log")
    parser.add_argument("--expected", help="expected-differences file")
    parser.add_argument("--readme", help="README that must name every expected difference")
    args = parser.parse_args(argv)
    stock, ours = read_log(args.stock_log), read_log(args.ours_log)
    expected = read_expected(args.expected) if args.expected else {}
    readme_text = None
    if args.readme:
        with open(args.readme, encoding="utf-8") as handle:
            readme_text = handle.read()

    print(f"{'database':<8} {'tests':>6} {'passed':>7} {'failed':>7}")
    for name, res in (("stock", stock), ("ours", ours)):
        passed = res["ran"] - res["failed_count"]
        print(f"{name:<8} {res['ran']:>6} {passed:>7} {res['failed_count']:>7}")
    known = sorted(ours["failed"] & set(expected))
    print(f"Expected differences, intended behaviour ({len(known)}):")
    for test in known:
        print(f"  {test}  # {expected[test]}")
    problems = check(stock, ours, expected, readme_text)
    for problem in problems:
        print(f"PROBLEM: {problem}")
    print("Gate: " + ("FAILED" if problems else "passed (no new failure, no stale entry)"))
    print(f"{ours['ran'] - ours['failed_count']} passed, {ours['failed_count']} failed")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
