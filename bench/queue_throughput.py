"""Queue throughput: mails per second from ``process_email_queue`` to the SMTP sink.

Compares, in the same run and against the same loopback SMTP sink:
  * stock Odoo 18 (database with ``mail`` only),
  * Odoo 18 with ``mail_reliability``, daily limit off (``daily_limit = 0``),
  * Odoo 18 with ``mail_reliability``, daily limit on (a limit never reached, so every
    mail pays for its reservation),
  * the raw ceiling: plain smtplib sending the same number of messages on one session.

Rounds alternate stock / ours to spread machine noise; the median of each is reported
and the ratio ours/stock is the figure that matters (absolute rates are machine noise).

Run through ``bin/bench`` (it prepares the venv, PostgreSQL and the databases).
"""

import json
import smtplib
import statistics
import time
from email.message import EmailMessage

import _common


def run_queue(dbname, sink, count, params=None):
    with _common.environment(dbname) as env:
        for key, value in (params or {}).items():
            env["ir.config_parameter"].set_param(key, value)
        if "mail.quota.usage" in env:
            env["mail.quota.usage"].search([]).unlink()
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
    with _common.environment(dbname) as env:
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
    parser = _common.parser(__doc__)
    parser.add_argument("--mails", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=3)
    args = _common.parse_args(parser)
    run = _common.Run("queue_throughput", args)

    quota_off = {"mail_reliability.daily_limit": "0"}
    quota_on = {"mail_reliability.daily_limit": "1000000000"}
    rates = {"stock": [], "ours_quota_off": [], "ours_quota_on": [], "raw": []}
    with _common.smtp_sink() as sink:
        for _round in range(args.rounds):
            rates["stock"].append(run_queue(args.stock_db, sink, args.mails))
            rates["ours_quota_off"].append(run_queue(args.ours_db, sink, args.mails, quota_off))
            rates["ours_quota_on"].append(run_queue(args.ours_db, sink, args.mails, quota_on))
            rates["raw"].append(raw_ceiling(sink, args.mails))
    median = {key: statistics.median(values) for key, values in rates.items()}
    report = {
        "mails_per_round": args.mails,
        "rounds": args.rounds,
        "mails_per_second": {k: [round(v, 1) for v in values] for k, values in rates.items()},
        "median_mails_per_second": {k: round(v, 1) for k, v in median.items()},
        "ratio_quota_off_vs_stock": round(median["ours_quota_off"] / median["stock"], 3),
        "ratio_quota_on_vs_stock": round(median["ours_quota_on"] / median["stock"], 3),
        "ratio_quota_on_vs_quota_off": round(median["ours_quota_on"] / median["ours_quota_off"], 3),
        "stock_vs_raw_ceiling": round(median["stock"] / median["raw"], 3),
    }
    print(json.dumps(report, indent=2))
    print(
        "queue throughput: ours(quota off)/stock = {:.2f}x (target >= 1.0x), "
        "quota on/quota off = {:.2f}x (target >= 0.95x)".format(
            report["ratio_quota_off_vs_stock"], report["ratio_quota_on_vs_quota_off"]
        )
    )
    run.write(report)


if __name__ == "__main__":
    main()
