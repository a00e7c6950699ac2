"""Per-mail cost of the email queue: where one lane spends its time, stock vs ours.

Sends the same N queued mails (one recipient each, as ``queue_throughput.py``) through
``process_email_queue`` on the stock database and on ours (daily limit off), and reports
per mail:

* the SQL statements, by statement (load-independent: a count);
* the Python function calls (load-independent too: cProfile's call count);
* the top cumulative costs in milliseconds under cProfile (profiling slows every call,
  so these are for ranking, not for throughput: ``bin/bench`` measures throughput).

* the bytes of the column values PostgreSQL returned (text and binary values by length,
  numbers and dates 8 bytes each): a count too.

Campaign mode (``--campaign``): the queued mails are those of a real Email Marketing
campaign (``mailing.mailing`` to a mailing list of N contacts, one mail per contact), on
the ``mass_mailing`` databases of ``bin/bench-campaign``: a template-sized HTML body
(:data:`CAMPAIGN_BODY`: "View Online" and unsubscribe links, a dozen tracked links, a
per-recipient placeholder) and, with ``--attachment-kb 500``, a 500 kB attachment shared by
the campaign. The campaign is launched and generated untimed, as the "Mail Marketing:
Process queue" cron does it (stock force-sends a campaign of up to 100 recipients from
that cron: ``mail.mail.force.send.limit`` is set to 0 during generation so that stock's
mails wait in the queue as ours do); then the queue is profiled as above. ``--rounds N``
adds N unprofiled rounds (stock and ours alternately, order rotated) timing
``process_email_queue`` on the same campaign: mails per second and the median ratio
ours/stock.

Run through ``bin/bench-profile`` (it prepares the venv, PostgreSQL and the databases):

    bin/bench-profile                 # 200 mails
    bin/bench-profile --mails 500 --top 40
    bin/bench-profile --campaign --mails 200 --rounds 5
    bin/bench-profile --campaign --attachment-kb 500 --mails 100
"""

import collections
import cProfile
import datetime
import functools
import json
import pstats
import random
import re
import statistics
import time

import _common
import campaign_send
from mailing_generation import ensure_list
from queue_throughput import QUEUE_TABLES, run_queue

_SPACES = re.compile(r"\s+")
_SAVEPOINT = re.compile(r'(SAVEPOINT|RELEASE SAVEPOINT|ROLLBACK TO SAVEPOINT) "[^"]*"')
LIMIT_OFF = {"mail_reliability.daily_limit": "0"}
FORCE_SEND_LIMIT = "mail.mail.force.send.limit"

# What the Email Marketing editor produces for a newsletter, in size and shape: a
# "View Online" header, a hero block, six product blocks of two tracked links each,
# social links and the unsubscribe footer; the recipient's name is rendered per mail.
_PRODUCT = """
<div class="o_mail_snippet_general pt16 pb16" style="padding-left:15px;padding-right:15px;">
  <table class="o_mail_table_styles" style="width:100%;border-collapse:collapse;">
    <tr>
      <td style="width:40%;padding:8px;vertical-align:top;">
        <a href="https://shop.example.com/product/{n}?utm_content=image">
          <img src="https://shop.example.com/web/image/product.template/{n}/image_512"
               alt="Product {n}" style="display:block;width:100%;height:auto;border:0;"/>
        </a>
      </td>
      <td style="width:60%;padding:8px;vertical-align:top;font-family:Arial,sans-serif;">
        <h3 style="margin:0 0 8px 0;font-size:20px;color:#374151;">Product {n}: new season</h3>
        <p style="margin:0 0 12px 0;font-size:14px;line-height:1.5;color:#4b5563;">
          Designed for everyday use, product {n} combines a sturdy frame with light
          materials. Order before the end of the month to get free delivery and a
          two-year warranty on every item of the collection.
        </p>
        <a href="https://shop.example.com/product/{n}?utm_content=button" class="btn btn-primary"
           style="display:inline-block;padding:8px 16px;background-color:#714B67;color:#ffffff;
                  text-decoration:none;border-radius:4px;font-size:14px;">Shop now</a>
      </td>
    </tr>
  </table>
</div>"""
CAMPAIGN_BODY = (
    """<div class="o_layout o_default_theme oe_unremovable oe_unmovable" data-name="Mailing">
<div class="o_snippet_view_in_browser o_mail_snippet_general pt16 pb16"
     style="text-align:center;padding-left:15px;padding-right:15px;font-size:12px;">
  <a href="/view">View Online</a>
</div>
<div class="o_mail_snippet_general pt32 pb32" style="text-align:center;background-color:#f3f4f6;">
  <h1 style="font-family:Arial,sans-serif;font-size:32px;color:#111827;">
    Hello <t t-out="object.name or ''"/>, our autumn collection is here
  </h1>
  <p style="font-family:Arial,sans-serif;font-size:16px;color:#374151;">
    Twelve new products, hand-picked for you. -20% on your next order with the code AUTUMN.
  </p>
</div>"""
    + "".join(_PRODUCT.format(n=n) for n in range(1, 7))
    + """
<div class="s_footer_social o_mail_block_footer_social o_mail_snippet_general bg-200 pt16"
     style="text-align:center;font-family:Arial,sans-serif;font-size:12px;color:#6b7280;">
  <p>
    <a href="https://www.facebook.com/example" aria-label="Facebook">Facebook</a> &amp;nbsp;
    <a href="https://www.linkedin.com/company/example" aria-label="LinkedIn">LinkedIn</a>
  </p>
  <p><a role="button" href="/unsubscribe_from_list" class="btn btn-link">Unsubscribe</a></p>
  <p>&#169; 2026 Example Shop, 1 Market Street, Springfield. All Rights Reserved</p>
</div>
</div>"""
)


def _statement_key(query):
    text = query.code if hasattr(query, "code") else str(query)
    text = _SAVEPOINT.sub(r"\1 <name>", _SPACES.sub(" ", text).strip())
    return text[:120]


def _value_bytes(value):
    """Bytes of one column value as returned: text and binary by length, the rest 8."""
    if value is None:
        return 0
    if isinstance(value, str):
        return len(value.encode())
    if isinstance(value, bytes | bytearray | memoryview):
        return len(value)
    if isinstance(value, dict | list):
        return len(json.dumps(value, default=str).encode())
    return 8


def _queue(dbname, count, sink, params):
    """The queue of ``queue_throughput.run_queue`` (same mails, same sink server), not sent."""
    run_queue(dbname, sink, count, params, send=False)
    _common.vacuum(dbname, QUEUE_TABLES)
    sink.reset()


def _attachment_content(kilobytes):
    """Incompressible bytes, the same in every run (a PDF or an image behaves so)."""
    return random.Random(17).randbytes(kilobytes * 1024)


def _queue_campaign(dbname, count, sink, params, attachment_kb=0):
    """Queue the mails of one campaign of :data:`CAMPAIGN_BODY` to ``count`` contacts.

    ``campaign_send.prepare`` empties the queue, points the outgoing server at the sink
    and creates the draft campaign (removing earlier ones); the campaign is then launched
    and generated as the "Mail Marketing: Process queue" cron does it."""
    list_id = ensure_list(dbname, count)
    mailing_id = campaign_send.prepare(dbname, sink, list_id, None)
    with _common.environment(dbname) as env:
        for key, value in (params or {}).items():
            env["ir.config_parameter"].set_param(key, value)
        env["ir.config_parameter"].set_param(FORCE_SEND_LIMIT, "0")
        mailing = env["mailing.mailing"].browse(mailing_id)
        values = {"body_html": CAMPAIGN_BODY, "body_arch": CAMPAIGN_BODY}
        if attachment_kb:
            attachment = env["ir.attachment"].create(
                {
                    "name": "catalogue.pdf",
                    "raw": _attachment_content(attachment_kb),
                    "mimetype": "application/pdf",
                    "res_model": "mailing.mailing",
                    "res_id": mailing_id,
                }
            )
            values["attachment_ids"] = [(6, 0, attachment.ids)]
        mailing.write(values)
        mailing.action_launch()
    try:
        with _common.environment(dbname) as env:
            env["mailing.mailing"]._process_mass_mailing_queue()
    finally:
        with _common.environment(dbname) as env:
            env["ir.config_parameter"].set_param(FORCE_SEND_LIMIT, False)
    with _common.environment(dbname) as env:
        env.cr.execute(
            "SELECT count(*) FROM mail_mail WHERE mailing_id = %s AND state = 'outgoing'",
            [mailing_id],
        )
        queued = env.cr.fetchone()[0]
    if queued != count:
        raise SystemExit(f"{dbname}: {queued} of {count} campaign mails queued")
    _common.vacuum(dbname, campaign_send.TABLES)
    sink.reset()
    return mailing_id


def _campaign_checks(dbname, mailing_id, sink, count):
    """What the campaign left: traces sent, mails left, bytes the sink received."""
    with _common.environment(dbname) as env:
        env.cr.execute(
            "SELECT trace_status, count(*) FROM mailing_trace WHERE mass_mailing_id = %s "
            "GROUP BY trace_status",
            [mailing_id],
        )
        traces = dict(env.cr.fetchall())
        env.cr.execute("SELECT count(*) FROM mail_mail WHERE mailing_id = %s", [mailing_id])
        left = env.cr.fetchone()[0]
    if traces.get("sent") != count:
        raise SystemExit(f"{dbname}: traces {traces}, expected {count} sent")
    sizes = [len(delivery.data) for delivery in sink.deliveries]
    return {
        "traces": traces,
        "mails_left": left,
        "bytes_on_the_wire_per_mail": round(sum(sizes) / max(len(sizes), 1)),
    }


def measure(dbname, count, sink, params=None, top=30, queue=_queue):
    from odoo import sql_db

    # Once, untimed: the first run of a process fills per-process caches (registry,
    # timezone list, templates), which is not a per-mail cost.
    queue(dbname, 5, sink, params)
    with _common.environment(dbname) as env:
        env["mail.mail"].process_email_queue(batch_size=5)

    queued = queue(dbname, count, sink, params)
    statements = collections.Counter()
    fetched = collections.Counter()
    execute = sql_db.Cursor.execute
    profile = cProfile.Profile()

    def counting_execute(cursor, query, params=None, log_exceptions=True):
        key = _statement_key(query)
        statements[key] += 1
        result = execute(cursor, query, params, log_exceptions)
        raw = cursor._obj
        if raw.description is not None and raw.rowcount:
            # Size what PostgreSQL returned, then rewind: the caller fetches as usual.
            # Not profiled: it is the bench's own work.
            profile.disable()
            try:
                fetched[key] += sum(_value_bytes(value) for row in raw.fetchall() for value in row)
                raw.scroll(0, mode="absolute")
            finally:
                profile.enable()
        return result

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
    report = {
        "addons_own_time_share": round(own_ours / rows_total, 4),
        "statements_per_mail": round(sum(statements.values()) / count, 2),
        "bytes_fetched_per_mail": round(sum(fetched.values()) / count),
        "statements": {
            key: {
                "per_mail": round(number / count, 2),
                "bytes_per_mail": round(fetched[key] / count),
            }
            for key, number in statements.most_common()
            if number
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
    if queue is not _queue:
        report["checks"] = _campaign_checks(dbname, queued, sink, count)
    return report


def timed(dbname, count, sink, params, queue):
    """Mails per second of one unprofiled ``process_email_queue`` run over ``queue``'s mails."""
    queue(dbname, count, sink, params)
    with _common.environment(dbname) as env:
        start = time.perf_counter()
        env["mail.mail"].process_email_queue(batch_size=count)
        elapsed = time.perf_counter() - start
    if len(sink.deliveries) != count:
        raise SystemExit(f"{dbname}: {len(sink.deliveries)} of {count} mails delivered")
    return count / elapsed


def _summary(report, variants):
    return "per mail: " + "; ".join(
        "{} {} statements, {} bytes fetched, {} Python calls, own time in our addons {:.1%}".format(
            name,
            report[name]["statements_per_mail"],
            report[name]["bytes_fetched_per_mail"],
            report[name]["python_calls_per_mail"],
            report[name]["addons_own_time_share"],
        )
        for name in variants
    )


def main_queue(args, run):
    with _common.smtp_sink() as sink:
        report = {
            "mails": args.mails,
            "stock": measure(args.stock_db, args.mails, sink, top=args.top),
            "ours_limit_off": measure(args.ours_db, args.mails, sink, LIMIT_OFF, args.top),
            "ours_limit_on": measure(
                args.ours_db,
                args.mails,
                sink,
                {"mail_reliability.daily_limit": "1000000000"},
                args.top,
            ),
        }
    print(json.dumps(report, indent=2))
    print(_summary(report, ("stock", "ours_limit_off", "ours_limit_on")))
    run.write(report)


def main_campaign(args, run):
    queue = functools.partial(_queue_campaign, attachment_kb=args.attachment_kb)
    variants = {"stock": (args.stock_db, None), "ours": (args.ours_db, LIMIT_OFF)}
    with _common.smtp_sink() as sink:
        report = {
            "mode": "campaign",
            "mails": args.mails,
            "attachment_kb": args.attachment_kb,
            "body_bytes": len(CAMPAIGN_BODY.encode()),
        }
        for name, (dbname, params) in variants.items():
            report[name] = measure(dbname, args.mails, sink, params, args.top, queue)
        rates = {name: [] for name in variants}
        loads = []
        order = list(variants)
        for round_no in range(args.rounds):
            loads.append(_common.load_average())
            shift = round_no % len(order)
            for name in order[shift:] + order[:shift]:
                dbname, params = variants[name]
                rates[name].append(timed(dbname, args.mails, sink, params, queue))
            print(
                f"round {round_no + 1}: "
                + ", ".join(f"{name} {rates[name][-1]:.1f} mails/s" for name in order),
                flush=True,
            )
    if args.rounds:
        report["throughput"] = {
            "rounds": args.rounds,
            "mails_per_second": {k: [round(v, 1) for v in values] for k, values in rates.items()},
            "ratio_method": "median of per-round ours/stock mails per second, order rotated",
            "ratio_ours_vs_stock": round(
                statistics.median(
                    o / s for o, s in zip(rates["ours"], rates["stock"], strict=True)
                ),
                3,
            ),
            "load_average_before_each_round": loads,
        }
    report["finished"] = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
    print(json.dumps(report, indent=2))
    print(_summary(report, list(variants)))
    if args.rounds:
        ratio = report["throughput"]["ratio_ours_vs_stock"]
        print(f"campaign queue throughput: ours/stock = {ratio:.2f}x")
    run.write(report)


def main():
    parser = _common.parser(__doc__)
    parser.add_argument("--mails", type=int, default=200)
    parser.add_argument("--top", type=int, default=30)
    parser.add_argument(
        "--campaign", action="store_true", help="profile an Email Marketing campaign"
    )
    parser.add_argument(
        "--attachment-kb", type=int, default=0, help="campaign mode: attach a file of this size"
    )
    parser.add_argument(
        "--rounds", type=int, default=0, help="campaign mode: unprofiled throughput rounds"
    )
    args = _common.parse_args(parser)
    run = _common.Run("queue_profile", args)
    if args.campaign:
        main_campaign(args, run)
    else:
        main_queue(args, run)


if __name__ == "__main__":
    main()
