"""Gate: Odoo's own mail tests with our addons, failures re-run on stock, against a list.

    compare_odoo_suites.py OURS_LOG STOCK_LOG [--expected FILE] [--doc docs/odoo-suites.md]
                           [--ours-rerun OURS_RERUN_LOG]
    compare_odoo_suites.py --rerun-tags OURS_LOG   # the --test-tags spec of its failures
    compare_odoo_suites.py --confirm-tags OURS_LOG STOCK_LOG --expected FILE
                           # the spec of the failures that would be new: re-run them with our addons
    compare_odoo_suites.py --summary LOG           # failures and the summary line only

OURS_LOG is a full run of the four suites on a database with our addons
(bin/run_odoo_tests.py); STOCK_LOG re-runs only the tests that failed there, on a
stock database. The expected-differences file holds one ``TestClass.test_name  # why``
per line (``#`` lines and blank lines ignored).

A failure with our addons that passes on stock and is not listed is run once more with
our addons (OURS_RERUN_LOG). If it passes there, it is reported as FLAKY (it failed once
and passed twice, once with our addons and once on stock: browser tours under load do
that), not as a new failure; if it fails again, it is a new failure.

Exit status 0 only if all of these hold:

* the run with our addons produced its statistics, with our addons loaded (and the
  stock re-run, if anything failed, without them);
* every test that fails with our addons either fails on stock too (a stock failure:
  reported, not ours) or is listed in the expected file, with its reason;
* no listed test fails on stock too (then it is not a difference of ours);
* every listed test ran and still fails with our addons (otherwise: stale entry);
* no listed test failed on a query count (``assertQueryCount``): the addons may not add
  SQL queries to Odoo's measured paths, that is never an intended difference;
* with ``--doc``, every listed test is named, with its reason, in that document
  (``docs/odoo-suites.md``, where the intended differences are explained).

Ends with a plain "N passed, N failed" line (tests, with our addons).
"""

import argparse
import re
import sys

STATS = re.compile(r"(\d+) failed, (\d+) error\(s\) of (\d+) tests when loading database")
# One log record: "2026-12-01 02:40:00,123 PID LEVEL DB LOGGER: MESSAGE".
RECORD = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d+ \d+ (\w+) \S+ (\S+): (.*)$")
# "FAIL: TestClass.test_name", "FAIL: Subtest TestClass.test_name (params)",
# "ERROR: setUpClass (odoo.addons.module.tests.file.TestClass)".
FAILED = re.compile(r"^(?:FAIL|ERROR): (?:Subtest )?(\w+)\.(\w+)")
FAILED_SETUP = re.compile(r"^ERROR: (setUpClass|tearDownClass) \(odoo\.addons\.(\w+)\.\S*\.(\w+)\)")
STARTED = re.compile(r"^Starting (\w+)\.(\w+) \.\.\.")
TEST_LOGGER = re.compile(r"^odoo\.addons\.(\w+)\.tests\b")
REGISTRY = re.compile(r"^Odoo's tests of (\S+) on the registry of \S+ with (\S+)")
QUERY_COUNT = "Query count more than expected"
OUR_ADDONS = ("mail_reliability", "mail_reliability_mass_mailing")


def read_log(log_path):
    """What one run did: tests started and failed (with their module and failure text)."""
    res = {
        "ran": 0,
        "has_stats": False,
        "started": set(),
        "failed": {},  # "TestClass.test_name" -> Odoo module
        "text": {},  # "TestClass.test_name" -> failure text
        "modules": None,
    }
    current = None
    with open(log_path, encoding="utf-8", errors="replace") as handle:
        for raw in handle:
            line = raw.rstrip("\n")
            record = RECORD.match(line)
            if not record:
                if current:  # continuation of a failure's traceback
                    res["text"][current] += line + "\n"
                continue
            current = None
            level, logger, message = record.groups()
            stats = STATS.search(message)
            if stats:
                res["ran"] = int(stats.group(3))
                res["has_stats"] = True
                continue
            registry = REGISTRY.match(message)
            if registry:
                res["modules"] = set(registry.group(2).split(","))
                continue
            module = TEST_LOGGER.match(logger)
            started = STARTED.match(message)
            if started and module:
                res["started"].add(f"{started.group(1)}.{started.group(2)}")
                continue
            if level not in ("ERROR", "CRITICAL"):
                continue
            setup = FAILED_SETUP.match(message)
            failed = FAILED.match(message)
            if setup:
                name, odoo_module = f"{setup.group(3)}.{setup.group(1)}", setup.group(2)
            elif failed and module:
                name, odoo_module = f"{failed.group(1)}.{failed.group(2)}", module.group(1)
            else:
                continue
            res["failed"][name] = odoo_module
            res["text"].setdefault(name, "")
            res["text"][name] += message + "\n"
            current = name
    return res


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


def rerun_tags(res):
    """The --test-tags spec that runs exactly the failed tests (a class for setUpClass)."""
    specs = []
    for name, module in sorted(res["failed"].items()):
        test_class, method = name.split(".", 1)
        spec = f"/{module}:{test_class}"
        if method not in ("setUpClass", "tearDownClass"):
            spec += f".{method}"
        specs.append(spec)
    return ",".join(dict.fromkeys(specs))


def check_runs(ours, stock):
    """Problems with the runs themselves (crash, wrong database)."""
    problems = []
    if not ours["has_stats"]:
        problems.append("no test statistics in the log with our addons (did Odoo crash?)")
    if not ours["ran"]:
        problems.append("no test ran with our addons")
    if ours["modules"] is None or not set(OUR_ADDONS) <= ours["modules"]:
        problems.append(f"the run with our addons did not load {', '.join(OUR_ADDONS)}")
    if ours["failed"]:
        if not stock["has_stats"]:
            problems.append("no test statistics in the stock re-run (did Odoo crash?)")
        if stock["modules"] is None or set(OUR_ADDONS) & stock["modules"]:
            problems.append("the stock re-run did not run on a stock database")
    return problems


def unexpected_failures(ours, stock, expected):
    """Failures with our addons that are neither stock failures nor listed."""
    return {
        test: module
        for test, module in ours["failed"].items()
        if test not in stock["failed"] and test not in expected
    }


def flaky_tests(ours, stock, expected, rerun):
    """Unexpected failures that passed when run again with our addons (and on stock)."""
    if rerun is None or not rerun["has_stats"]:
        return []
    if rerun["modules"] is None or not set(OUR_ADDONS) <= rerun["modules"]:
        return []  # not a run with our addons: it proves nothing
    return sorted(
        test
        for test in unexpected_failures(ours, stock, expected)
        if test in rerun["started"] and test not in rerun["failed"] and test in stock["started"]
    )


def check(ours, stock, expected, doc_text=None, doc_name="the document", rerun=None):
    """The gate's verdict: (stock failures, problems), two sorted lists of test names/texts."""
    problems = check_runs(ours, stock)
    stock_failures = sorted(set(ours["failed"]) & set(stock["failed"]))
    flaky = set(flaky_tests(ours, stock, expected, rerun))
    for test in sorted(set(ours["failed"]) - set(stock["failed"])):
        if test in flaky:
            continue
        if test in expected:
            if QUERY_COUNT in ours["text"].get(test, ""):
                problems.append(
                    f"query-count test listed as expected (never an intended difference): {test}"
                )
            continue
        if test.split(".")[1] in ("setUpClass", "tearDownClass") or test in stock["started"]:
            problems.append(f"NEW failure with our addons (passes on stock): {test}")
        else:
            problems.append(f"fails with our addons and did not run on stock: {test}")
    for test in sorted(set(expected) & set(stock["failed"])):
        problems.append(f"listed, but fails on stock too (not a difference of ours): {test}")
    for test in sorted(set(expected) - set(ours["failed"])):
        if test in ours["started"]:
            problems.append(f"STALE entry, now passes with our addons (remove it): {test}")
        else:
            problems.append(f"STALE entry, did not run at all: {test}")
    if doc_text is not None:
        for test in sorted(expected):
            if test.split(".", 1)[1] not in doc_text:
                problems.append(f"{doc_name} does not name the expected difference {test}")
    return stock_failures, problems


def summary_line(res):
    failed = len(res["failed"])
    return f"{max(res['ran'] - failed, 0)} passed, {failed} failed"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("ours_log", nargs="?")
    parser.add_argument("stock_log", nargs="?")
    parser.add_argument("--expected", help="expected-differences file")
    parser.add_argument(
        "--doc", help="document that must name every expected difference (docs/odoo-suites.md)"
    )
    parser.add_argument(
        "--rerun-tags", metavar="LOG", help="print the tags re-running its failures"
    )
    parser.add_argument("--summary", metavar="LOG", help="print its failures and summary line")
    parser.add_argument(
        "--confirm-tags",
        action="store_true",
        help="print the tags re-running, with our addons, the failures that would be new",
    )
    parser.add_argument(
        "--ours-rerun", metavar="LOG", help="log of that re-run with our addons (flaky tests)"
    )
    args = parser.parse_args(argv)
    if args.rerun_tags:
        print(rerun_tags(read_log(args.rerun_tags)))
        return 0
    if args.confirm_tags:
        if not args.ours_log or not args.stock_log:
            parser.error("--confirm-tags needs OURS_LOG and STOCK_LOG")
        expected = read_expected(args.expected) if args.expected else {}
        ours, stock = read_log(args.ours_log), read_log(args.stock_log)
        new = unexpected_failures(ours, stock, expected)
        print(rerun_tags({"failed": {t: m for t, m in new.items() if t in stock["started"]}}))
        return 0
    if args.summary:
        res = read_log(args.summary)
        for test, module in sorted(res["failed"].items()):
            count = " (query count)" if QUERY_COUNT in res["text"][test] else ""
            print(f"FAILED: /{module}:{test}{count}")
        print(summary_line(res))
        return 0 if res["has_stats"] and res["ran"] and not res["failed"] else 1
    if not args.ours_log or not args.stock_log:
        parser.error("OURS_LOG and STOCK_LOG are required")
    ours, stock = read_log(args.ours_log), read_log(args.stock_log)
    rerun = read_log(args.ours_rerun) if args.ours_rerun else None
    expected = read_expected(args.expected) if args.expected else {}
    doc_text = None
    if args.doc:
        with open(args.doc, encoding="utf-8") as handle:
            doc_text = handle.read()
    stock_failures, problems = check(ours, stock, expected, doc_text, args.doc, rerun)
    flaky = flaky_tests(ours, stock, expected, rerun)

    print(f"With our addons: {ours['ran']} tests, {len(ours['failed'])} failed")
    print(
        f"Re-run of those failures on stock: {stock['ran']} tests, "
        f"{len(stock['failed'])} failed there too"
    )
    print(f"Stock failures, not ours ({len(stock_failures)}):")
    for test in stock_failures:
        print(f"  {test}")
    known = sorted((set(ours["failed"]) - set(stock["failed"])) & set(expected))
    print(f"Expected differences, intended behaviour ({len(known)}):")
    for test in known:
        print(f"  {test}  # {expected[test]}")
    print(f"Flaky: failed once with our addons, passed when run again and on stock ({len(flaky)}):")
    for test in flaky:
        print(f"  {test}")
    for problem in problems:
        print(f"PROBLEM: {problem}")
    print("Gate: " + ("FAILED" if problems else "passed (no new failure, no stale entry)"))
    print(summary_line(ours))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
