"""Queue throughput: mails per second from ``process_email_queue`` to the SMTP sink.

Compares, in the same run and against the same loopback SMTP sink:
  * stock Odoo 18 (database with ``mail`` only),
  * Odoo 18 with ``mail_reliability`` installed,
  * the raw ceiling: plain smtplib sending the same number of messages on one session.

Rounds alternate stock / ours to spread machine noise; the median of each is reported
and the ratio ours/stock is the figure that matters (absolute rates are machine noise).

Run through ``bin/bench`` (it prepares the venv, PostgreSQL and the databases).
"""

import argparse
import json
import smtplib
import statistics
import sys
import time
from email.message import EmailMessage

import odoo
from odoo import api
from odoo.modules.registry import Registry


def run_queue(dbname, sink, count):
    registry = Registry(dbname)
    with registry.cursor() as cr:
        env = api.Environment(cr, api.SUPERUSER_ID, {})
        env["mail.mail"].search([]).unlink()
        server = env["ir.mail_server"].search([("name", "=", "bench sink")], limit=1)
        values = {"smtp_host": sink.host, "smtp_port": sink.port, "smtp_encryption": "none"}
        if server:
            server.write(values)
        else:
            env["ir.mail_server"].create({"name": "bench sink", "sequence": 1, **values})
        env["mail.mail"].create(
            [
                {
                    "subject": f"Bench {n}",
                    "body_html": f"<p>Benchmark message {n}</p>" + "<p>lorem ipsum</p>" * 20,
                    "email_from": "bench@example.com",
                    "email_to": f"rcpt{n}@example.com",
                }
                for n in range(count)
            ]
        )
    sink.reset()
    with registry.cursor() as cr:
        env = api.Environment(cr, api.SUPERUSER_ID, {})
        start = time.perf_counter()
        env["mail.mail"].process_email_queue(batch_size=count)
        elapsed = time.perf_counter() - start
    delivered = len(sink.deliveries)
    if delivered != count:
        raise SystemExit(f"{dbname}: {delivered} of {count} mails delivered")
    return count / elapsed


def raw_ceiling(sink, count):
    start = time.perf_counter()
    with smtplib.SMTP(sink.host, sink.port) as smtp:
        for n in range(count):
            msg = EmailMessage()
            msg["From"] = "bench@example.com"
            msg["To"] = f"rcpt{n}@example.com"
            msg["Subject"] = f"Bench {n}"
            msg.set_content("Benchmark message" + " lorem ipsum" * 40)
            smtp.send_message(msg)
    elapsed = time.perf_counter() - start
    sink.reset()
    return count / elapsed


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--config", required=True)
    parser.add_argument("--stock-db", required=True)
    parser.add_argument("--ours-db", required=True)
    parser.add_argument("--mails", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--json", help="write the figures to this file")
    args = parser.parse_args(sys.argv[1:])
    odoo.tools.config.parse_config(["-c", args.config, "--log-level=warn"])
    from odoo.addons.mail_reliability.tests.smtp_sink import SmtpSink

    rates = {"stock": [], "ours": [], "raw": []}
    with SmtpSink() as sink:
        for _round in range(args.rounds):
            rates["stock"].append(run_queue(args.stock_db, sink, args.mails))
            rates["ours"].append(run_queue(args.ours_db, sink, args.mails))
            rates["raw"].append(raw_ceiling(sink, args.mails))
    median = {key: statistics.median(values) for key, values in rates.items()}
    ratio = median["ours"] / median["stock"]
    report = {
        "mails_per_round": args.mails,
        "rounds": args.rounds,
        "median_mails_per_second": {k: round(v, 1) for k, v in median.items()},
        "ratio_ours_vs_stock": round(ratio, 3),
        "stock_vs_raw_ceiling": round(median["stock"] / median["raw"], 3),
        "ours_vs_raw_ceiling": round(median["ours"] / median["raw"], 3),
    }
    print(json.dumps(report, indent=2))
    print(f"queue throughput: ours/stock = {ratio:.2f}x (target >= 1.0x)")
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(report, fh, indent=2)


if __name__ == "__main__":
    main()
