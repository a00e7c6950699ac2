"""Per-mail cost of the email queue: where one lane spends its time, stock vs ours.

Sends the same N queued mails (one recipient each, as ``queue_throughput.py``) through
``process_email_queue`` on the stock database and on ours (daily limit off), and reports
per mail:

* the SQL statements, by statement (load-independent: a count);
* the Python function calls (load-independent too: cProfile's call count);
* the top cumulative costs in milliseconds under cProfile (profiling slows every call,
  so these are for ranking, not for throughput: ``bin/bench`` measures throughput).

Run through ``bin/bench-profile`` (it prepares the venv, PostgreSQL and the databases):

    bin/bench-profile                 # 200 mails
    bin/bench-profile --mails 500 --top 40
"""

import collections
import cProfile
import json
import pstats
import re

import _common
from queue_throughput import QUEUE_TABLES, run_queue

_SPACES = re.compile(r"\s+")
_SAVEPOINT = re.compile(r'(SAVEPOINT|RELEASE SAVEPOINT|ROLLBACK TO SAVEPOINT) "[^"]*"')


def _statement_key(query):
    text = query.code if hasattr(query, "code") else str(query)
    text = _SAVEPOINT.sub(r"\1 <name>", _SPACES.sub(" ", text).strip())
    return text[:120]


def _queue(dbname, count, sink, params):
    """The queue of ``queue_throughput.run_queue`` (same mails, same sink server), not sent."""
    run_queue(dbname, sink, count, params, send=False)
    _common.vacuum(dbname, QUEUE_TABLES)
    sink.reset()


def measure(dbname, count, sink, params=None, top=30):
    from odoo import sql_db

    # Once, untimed: the first run of a process fills per-process caches (registry,
    # timezone list, templates), which is not a per-mail cost.
    _queue(dbname, 5, sink, params)
    with _common.environment(dbname) as env:
        env["mail.mail"].process_email_queue(batch_size=5)

    _queue(dbname, count, sink, params)
    statements = collections.Counter()
    execute = sql_db.Cursor.execute

    def counting_execute(cursor, query, params=None, log_exceptions=True):
        statements[_statement_key(query)] += 1
        return execute(cursor, query, params, log_exceptions)

    profile = cProfile.Profile()
    with _common.environment(dbname) as env:
        sql_db.Cursor.execute = counting_execute
        try:
            profile.enable()
            env["mail.mail"].process_email_queue(batch_size=count)
            profile.disable()
        finally:
            sql_db.Cursor.execute = execute
    if len(sink.deliveries) != count:
        raise SystemExit(f"{dbname}: {len(sink.deliveries)} of {count} mails delivered")
    stats = pstats.Stats(profile)
    rows = []
    for (filename, line, name), (_cc, calls, _tt, cumtime, _callers) in stats.stats.items():
        where = filename.split("/addons/", 1)[-1] if "/addons/" in filename else filename
        rows.append((cumtime, calls, f"{where}:{line}({name})"))
    rows.sort(reverse=True)
    # Own time (cProfile's tottime) of the functions defined in our addons: what the
    # addons' Python adds, against the whole run.
    own_total = sum(entry[2] for entry in stats.stats.values())
    own_ours = sum(
        entry[2]
        for (filename, _line, _name), entry in stats.stats.items()
        if "/mail_reliability" in filename
    )
    rows_total = max(own_total, 1e-9)
    return {
        "addons_own_time_share": round(own_ours / rows_total, 4),
        "statements_per_mail": round(sum(statements.values()) / count, 2),
        "statements": {
            key: round(number / count, 2) for key, number in statements.most_common() if number
        },
        "python_calls_per_mail": round(stats.total_calls / count, 1),
        "top_cumulative_ms_per_mail": [
            {
                "function": where,
                "ms": round(cumtime / count * 1000, 2),
                "calls": round(calls / count, 2),
            }
            for cumtime, calls, where in rows[:top]
        ],
    }


def main():
    parser = _common.parser(__doc__)
    parser.add_argument("--mails", type=int, default=200)
    parser.add_argument("--top", type=int, default=30)
    args = _common.parse_args(parser)
    run = _common.Run("queue_profile", args)
    with _common.smtp_sink() as sink:
        report = {
            "mails": args.mails,
            "stock": measure(args.stock_db, args.mails, sink, top=args.top),
            "ours_limit_off": measure(
                args.ours_db, args.mails, sink, {"mail_reliability.daily_limit": "0"}, args.top
            ),
            "ours_limit_on": measure(
                args.ours_db,
                args.mails,
                sink,
                {"mail_reliability.daily_limit": "1000000000"},
                args.top,
            ),
        }
    print(json.dumps(report, indent=2))
    print(
        "per mail: SQL statements stock {} / ours {} (limit on {}); "
        "Python calls stock {} / ours {} (limit on {}); "
        "own time in our addons' functions {:.1%} (limit on {:.1%})".format(
            report["stock"]["statements_per_mail"],
            report["ours_limit_off"]["statements_per_mail"],
            report["ours_limit_on"]["statements_per_mail"],
            report["stock"]["python_calls_per_mail"],
            report["ours_limit_off"]["python_calls_per_mail"],
            report["ours_limit_on"]["python_calls_per_mail"],
            report["ours_limit_off"]["addons_own_time_share"],
            report["ours_limit_on"]["addons_own_time_share"],
        )
    )
    run.write(report)


if __name__ == "__main__":
    main()
