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
    "options": {"mails": 300, "rounds": 3, "lanes": None},
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
    "queue_lanes": {
        "mails": 2000,
        "rounds": 3,
        "lanes": [1, 2, 4],
        "median_mails_per_second": {"1": 34.3, "2": 56.5, "4": 55.0},
        "ratios_vs_one_lane": {"1": 1.0, "2": 1.691, "4": 1.602},
        "fifo_and_duplicates": {
            lanes: [{"duplicates": 0, "lost": 0, "batches": 20}] * 3 for lanes in ("1", "2", "4")
        },
        "meta": dict(META, options={"lanes": "1,2,4", "lane_mails": 2000, "rounds": 3}),
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
    "campaign_send": {
        "recipients": 10000,
        "rounds": 1,
        "median_seconds": {"stock": 1018.7, "ours_1_lane": 1030.9, "ours_2_lanes": 847.9},
        "ratio_ours_1_lane_vs_stock": 0.988,
        "ratio_ours_2_lanes_vs_stock": 1.201,
        "checks": {
            key: [{"accepted": 10000, "duplicates": 0, "lost": 0}]
            for key in ("stock", "ours_1_lane", "ours_2_lanes")
        },
        "meta": dict(META, options={"recipients": 10000, "rounds": 1}),
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

    def test_queue_lanes_and_campaign_rows(self):
        rows = _table(self.report.render(RESULTS))
        two = self._row(rows, "Queue lanes, mails/s, 2 lanes vs 1 lane (2,000 mails x 3 rounds")
        self.assertEqual(
            two,
            ["34.3 (1 lane)", "56.5", "1.69", "2 lanes/1 lane >= 1.6, no mail twice (#17)", "yes"],
        )
        four = self._row(rows, "Queue lanes, mails/s, 4 lanes vs 1 lane")
        self.assertEqual(four, ["34.3 (1 lane)", "55.0", "1.60", "—", "—"])
        one_lane = self._row(rows, "Campaign from Send to the last mail accepted, s, ours with 1")
        self.assertEqual(
            one_lane, ["1,018.7", "1,030.9", "0.99", "stock s/ours s >= 1.0 (#17)", "**no**"]
        )
        two_lanes = self._row(rows, "Campaign from Send to the last mail accepted, s, ours with 2")
        self.assertEqual(two_lanes, ["1,018.7", "847.9", "1.20", "—", "—"])
        self.assertIn("10,000 recipients x 1 round", "".join(rows))
        # The other side of each target; a mail sent twice fails the lanes target whatever
        # the speed.
        lanes = dict(RESULTS["queue_lanes"], ratios_vs_one_lane={"1": 1.0, "2": 1.55, "4": 1.7})
        campaign = dict(RESULTS["campaign_send"], ratio_ours_1_lane_vs_stock=1.052)
        rows = _table(self.report.render(dict(RESULTS, queue_lanes=lanes, campaign_send=campaign)))
        two = self._row(rows, "Queue lanes, mails/s, 2 lanes")
        self.assertEqual((two[2], two[-1]), ("1.55", "**no**"))
        one_lane = self._row(rows, "Campaign from Send to the last mail accepted, s, ours with 1")
        self.assertEqual((one_lane[2], one_lane[-1]), ("1.05", "yes"))
        twice = {"1": [{"duplicates": 0, "lost": 0}], "2": [{"duplicates": 1, "lost": 0}]}
        lanes = dict(RESULTS["queue_lanes"], lanes=[1, 2], fifo_and_duplicates=twice)
        rows = _table(self.report.render(dict(RESULTS, queue_lanes=lanes)))
        two = self._row(rows, "Queue lanes, mails/s, 2 lanes vs 1 lane")
        self.assertEqual(two[-1], "**no**")
        self.assertNotIn("4 lanes", "".join(rows))
        self.assertIn(
            "Queue lanes, mails/s, 2 lanes vs 1 lane (2,000 mails x 3 rounds, median); "
            "duplicates 1, lost 0",
            rows,
        )
        # The single commands, and smaller runs labelled as such.
        text = self.report.render(RESULTS)
        self.assertIn("`queue_lanes`: `bin/bench-lanes --lanes 1,2,4 --lane-mails 2000", text)
        self.assertIn("`campaign_send`: `bin/bench-campaign --recipients 10000 --rounds 1`", text)
        small = dict(
            RESULTS,
            queue_lanes=dict(RESULTS["queue_lanes"], mails=300),
            campaign_send=dict(RESULTS["campaign_send"], recipients=300),
        )
        self.assertIn(
            "`queue_lanes` (mails 300, full size 2,000), `campaign_send` (recipients 300, "
            "full size 10,000)",
            self.report.render(small),
        )

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
