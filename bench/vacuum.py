"""Retention vacuum: 100,000 old ``mail.mail`` rows, total time and longest transaction.

Measured in the same run, on two fresh databases holding the same rows
(40% sent with ``auto_delete=False``, 30% cancelled, 30% failed, all past
retention, half of them not flagged as notifications, plus 1,000 young rows
that must survive):

* **ours** (``mail_reliability``): the daily Auto-Vacuum step
  (``_gc_mail_retention``, one batch), then the retention cron's batches, each
  in its own cursor committed at the end -- exactly one transaction per batch,
  as the cron runner does between ``_notify_progress`` calls;
* **stock-style single transaction** (``mail`` only): the same rows deleted the
  way stock garbage collectors do it (``search(domain).unlink()`` in one
  transaction, messages kept);
* **stock Auto-Vacuum** on each database (``ir.autovacuum._run_vacuum_cleaner``),
  for the cost of the daily job itself: stock deletes none of these rows.

Target: no transaction over 1 s. Run through ``bin/bench-vacuum``.
"""

import json
import time
from datetime import timedelta

import _common

from odoo import fields

MIX = (("sent", 0.4), ("cancel", 0.3), ("exception", 0.3))


def _insert_old_mails():
    # The helper shared with the tests (mail_reliability/tests/vacuum_data.py), imported by
    # name: bin/_bench_lib.sh puts mail_reliability/tests on PYTHONPATH.
    from vacuum_data import insert_old_mails

    return insert_old_mails


def fill(dbname, total, young=1000):
    insert_old_mails = _insert_old_mails()
    with _common.environment(dbname) as env:
        cr = env.cr
        # sent mail kept on purpose has no retention by default: opt in, as the
        # figures measure deleting every old state
        env["ir.config_parameter"].sudo().set_param("mail_reliability.vacuum_sent_days", "30")
        cr.execute("DELETE FROM mail_mail")
        for state, share in MIX:
            count = int(total * share)
            insert_old_mails(cr, count // 2, state, 400, is_notification=True)
            insert_old_mails(cr, count - count // 2, state, 400, is_notification=False)
        insert_old_mails(cr, young, "exception", 1)
        cr.execute("ANALYZE mail_mail")
        cr.execute("ANALYZE mail_message")


def count_mails(dbname):
    with _common.environment(dbname) as env:
        env.cr.execute("SELECT count(*) FROM mail_mail")
        return env.cr.fetchone()[0]


timed_transaction = _common.timed_transaction


def autovacuum_seconds(dbname):
    _result, seconds = timed_transaction(
        dbname, lambda env: env["ir.autovacuum"]._run_vacuum_cleaner()
    )
    return seconds


def run_ours(dbname, total):
    fill(dbname, total)
    before = count_mails(dbname)
    transactions = []
    start = time.perf_counter()
    deleted, seconds = timed_transaction(
        dbname, lambda env: env["mail.reliability.vacuum"]._gc_mail_retention()
    )
    transactions.append(seconds)
    while True:
        (done, left), seconds = timed_transaction(
            dbname, lambda env: env["mail.reliability.vacuum"]._vacuum_run()
        )
        transactions.append(seconds)
        deleted += done
        if not left:
            break
    total_seconds = time.perf_counter() - start
    after = count_mails(dbname)
    if deleted != total or after != before - total:
        raise SystemExit(f"ours: deleted {deleted}, {before} -> {after} rows, expected {total}")
    # The daily job itself, once the backlog is gone, on a refilled database.
    fill(dbname, total)
    return {
        "rows_deleted": deleted,
        "total_seconds": round(total_seconds, 2),
        "transactions": len(transactions),
        "longest_transaction_seconds": round(max(transactions), 3),
        "median_transaction_seconds": round(sorted(transactions)[len(transactions) // 2], 3),
        "rows_per_second": round(deleted / total_seconds, 1),
        "daily_autovacuum_seconds": round(autovacuum_seconds(dbname), 3),
    }


def run_stock(dbname, total):
    fill(dbname, total)
    daily = autovacuum_seconds(dbname)
    left_by_stock = count_mails(dbname)

    def single_transaction(env):
        mails = env["mail.mail"].search(
            [
                ("state", "in", ("sent", "cancel", "exception")),
                ("write_date", "<", fields.Datetime.now() - timedelta(days=31)),
            ]
        )
        mails = mails.filtered(lambda m: m.state != "sent" or not m.auto_delete)
        mails.filtered(lambda m: not m.is_notification).write({"is_notification": True})
        count = len(mails)
        mails.unlink()
        return count

    deleted, seconds = timed_transaction(dbname, single_transaction)
    return {
        "rows_left_by_stock_autovacuum": left_by_stock - 1000,
        "daily_autovacuum_seconds": round(daily, 3),
        "single_transaction_rows": deleted,
        "single_transaction_seconds": round(seconds, 2),
    }


def main():
    parser = _common.parser(__doc__)
    parser.add_argument("--rows", type=int, default=100000)
    args = _common.parse_args(parser)
    run = _common.Run("vacuum", args)
    ours = run_ours(args.ours_db, args.rows)
    stock = run_stock(args.stock_db, args.rows)
    report = {
        "rows": args.rows,
        "ours": ours,
        "stock": stock,
        "longest_transaction_ours_vs_stock_single": round(
            ours["longest_transaction_seconds"] / stock["single_transaction_seconds"], 4
        ),
        "total_time_ours_vs_stock_single": round(
            ours["total_seconds"] / stock["single_transaction_seconds"], 2
        ),
        "daily_autovacuum_ours_vs_stock": round(
            ours["daily_autovacuum_seconds"] / stock["daily_autovacuum_seconds"], 2
        ),
    }
    print(json.dumps(report, indent=2))
    verdict = "OK" if ours["longest_transaction_seconds"] < 1 else "OVER TARGET"
    print(
        f"vacuum of {args.rows} mails: {ours['total_seconds']} s in {ours['transactions']} "
        f"transactions, longest {ours['longest_transaction_seconds']} s (target < 1 s: {verdict})"
    )
    run.write(report)


if __name__ == "__main__":
    main()
