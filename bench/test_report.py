# Copyright 2026 mail_reliability contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""``bench/report.py`` renders ``bench/RESULTS.md`` from the benchmarks' JSON files.

Plain unittest, no Odoo: ``bin/test`` runs it (full run) with
``python -m unittest discover -s bench``, which puts ``bench/`` on ``sys.path``.
Fixture figures are chosen on both sides of each target.
"""

import json
import pathlib
import tempfile
import unittest

import report

META = {
    "started": "2026-11-28T18:00:00+00:00",
    "duration_seconds": 12.0,
    "load_average_start": [1.5, 1.0, 0.5],
    "load_average_end": [2.0, 1.2, 0.6],
    "machine": {"nproc": 2, "platform": "Linux-test", "python": "3.11.7"},
    "odoo": {"path": "/opt/odoo", "version": "18.0", "commit": None, "fingerprint": "abc123"},
    "postgres": "15.18",
    "databases": {"stock": "mr_bench_stock", "ours": "mr_bench_ours"},
    "options": {"mails": 300, "rounds": 3},
    "quick": False,
}

RESULTS = {
    "queue_throughput": {
        "mails_per_round": 300,
        "rounds": 3,
        "median_mails_per_second": {
            "stock": 20.0,
            "ours_quota_off": 13.0,
            "ours_quota_on": 12.6,
            "raw": 200.0,
        },
        "meta": META,
    },
    "chatter_queries": {
        "messages": 200,
        "scenarios": {
            "failed": {"stock_queries": 18, "ours_queries": 18, "difference": 0},
            "retrying": {"stock_queries": 18, "ours_queries": 21, "difference": 3},
        },
        "meta": META,
    },
    "mailing_generation": {
        "recipients": 10000,
        "rounds": 3,
        "median_seconds": {"stock": 150.0, "ours": 157.5},
        "meta": META,
    },
    "vacuum": {
        "rows": 100000,
        "ours": {
            "total_seconds": 30.0,
            "transactions": 101,
            "longest_transaction_seconds": 0.46,
            "daily_autovacuum_seconds": 0.5,
        },
        "stock": {
            "rows_left_by_stock_autovacuum": 100000,
            "daily_autovacuum_seconds": 0.25,
            "single_transaction_seconds": 12.0,
        },
        "meta": META,
    },
}


def _table(text):
    """{figure: [stock, ours, ratio, target, met]} of the generated table."""
    rows = {}
    for line in text.splitlines():
        if line.startswith("| ") and not line.startswith("| figure"):
            cells = [cell.strip() for cell in line.strip("|").split("|")]
            rows[cells[0]] = cells[1:]
    return rows


class TestBenchReport(unittest.TestCase):
    report = report

    def _row(self, rows, prefix):
        matches = [cells for figure, cells in rows.items() if figure.startswith(prefix)]
        self.assertEqual(len(matches), 1, f"one row starting with {prefix!r} in {list(rows)}")
        return matches[0]

    def test_figures_ratios_and_verdicts(self):
        text = self.report.render(RESULTS)
        self.assertIn("`queue_throughput`: `bin/bench --mails 300 --rounds 3`", text)
        rows = _table(text)
        queue = self._row(rows, "Queue throughput, mails/s, daily limit off")
        self.assertEqual(queue, ["20.0", "13.0", "0.65", "ours/stock >= 1.0 (#3)", "**no**"])
        quota = self._row(rows, "Daily limit overhead")
        self.assertEqual(quota[2:], ["0.97", "on/off >= 0.95 (#5)", "yes"])
        failed = self._row(rows, "Chatter fetch, SQL queries, 200 failed")
        self.assertEqual(failed, ["18", "18", "+0 queries", "ours <= stock + 2 (#4)", "yes"])
        retrying = self._row(rows, "Chatter fetch, SQL queries, 200 retrying")
        self.assertEqual(retrying[2:], ["+3 queries", "ours <= stock + 2 (#4)", "**no**"])
        campaign = self._row(rows, "Campaign generation")
        self.assertEqual(campaign, ["150.0", "157.5", "1.05", "ours/stock <= 1.1 (#6)", "yes"])
        vacuum = self._row(rows, "Vacuum, longest transaction")
        self.assertEqual(vacuum, ["12.00", "0.460", "0.038", "ours < 1 s (#7)", "yes"])
        daily = self._row(rows, "Daily Auto-Vacuum job")
        self.assertEqual(daily[2], "2.00")

    def test_header_failed_bench_and_quick_run(self):
        results = {k: v for k, v in RESULTS.items() if k != "mailing_generation"}
        run = {
            "started": "2026-11-28T17:59:00+00:00",
            "finished": "2026-11-28T19:00:00+00:00",
            "quick": True,
            "load_average_start": [3.25, 2.0, 1.0],
            "load_average_end": [4.5, 3.0, 2.0],
            "machine": {"nproc": 2, "platform": "Linux-test", "python": "3.11.7"},
            "status": {"queue_throughput": 0, "mailing_generation": 3},
        }
        text = self.report.render(results, run)
        self.assertIn("**Quick run**", text)
        self.assertIn("2 CPUs (nproc), load average (1/5/15 min) at start 3.25 / 2.00 / 1.00", text)
        self.assertIn("at end 4.50 / 3.00 / 2.00", text)
        self.assertIn("not a git checkout", text)
        self.assertIn("`abc123`", text)
        self.assertIn("`mailing_generation`: failed (exit 3", text)
        self.assertIn("- **Date**: 2026-11-28 17:59 UTC", text)
        # A quick run's verdicts say so.
        queue = self._row(_table(text), "Queue throughput, mails/s, daily limit off")
        self.assertEqual(queue[-1], "**no** (quick run)")
        # A bench re-run alone after the run: the header comes from the results themselves.
        later = dict(run, finished="2026-11-28T17:59:30+00:00")
        text = self.report.render(RESULTS, later)
        self.assertNotIn("**Quick run**", text)
        self.assertNotIn("**Below full size**", text)
        small = dict(RESULTS, vacuum=dict(RESULTS["vacuum"], rows=2000))
        text = self.report.render(small, later)
        self.assertIn("**Below full size**: `vacuum` (rows 2,000, full size 100,000)", text)
        self.assertIn("at start 1.50 / 1.00 / 0.50", text)

    def test_render_to_file_keeps_history(self):
        with tempfile.TemporaryDirectory() as tmpdir:
            tmp = pathlib.Path(tmpdir)
            results = tmp / "results"
            results.mkdir()
            for name, data in RESULTS.items():
                (results / f"{name}.json").write_text(json.dumps(data))
            output = tmp / "RESULTS.md"
            output.write_text("# Benchmark results\n\nOld hand-written table: 0.52x.\n")
            args = ["render", "--results", str(results), "--output", str(output)]
            self.assertEqual(self.report.main(args), 0)
            first = output.read_text()
            self.assertIn("## History (hand-written)\n\nOld hand-written table: 0.52x.", first)
            self.assertLess(first.index("| figure |"), first.index("\n## History"))
            # Rendering again replaces the table and keeps the history once.
            self.assertEqual(self.report.main(args), 0)
            self.assertEqual(output.read_text(), first)
            self.assertEqual(first.count("Old hand-written table"), 1)
            # No results at all: a clear refusal, the file is left alone.
            for path in results.iterdir():
                path.unlink()
            self.assertEqual(self.report.main(args), 1)
            self.assertEqual(output.read_text(), first)
