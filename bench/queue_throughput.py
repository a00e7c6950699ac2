"""Queue throughput: mails per second from ``process_email_queue`` to the SMTP sink.

Compares, in the same run and against the same loopback SMTP sink:
  * stock Odoo 18 (database with ``mail`` only),
  * Odoo 18 with ``mail_reliability``, daily limit off (``daily_limit = 0``),
  * Odoo 18 with ``mail_reliability``, daily limit on (a limit never reached, so every
    mail pays for its reservation),
  * the raw ceiling: plain smtplib sending the same number of messages on one session.

Each round runs the three Odoo variants back to back, in an order rotated from round to
round; a ratio is the median of the per-round ratios (absolute rates are machine noise,
and so is load that drifts between rounds).

Run through ``bin/bench`` (it prepares the venv, PostgreSQL and the databases).
"""

import json
import smtplib
import statistics
import time
from email.message import EmailMessage

import _common

# Tables the queue writes: vacuumed before each timed run. Our database serves two
# variants per round, so without this it carries twice stock's dead rows.
QUEUE_TABLES = (
    "mail_mail",
    "mail_message",
    "mail_notification",
    "mail_mail_res_partner_rel",
    "ir_cron_trigger",
    "mail_quota_usage",
)


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
    _common.vacuum(dbname, QUEUE_TABLES)
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
    parser.add_argument("--mails", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=9)
    args = _common.parse_args(parser)
    run = _common.Run("queue_throughput", args)

    quota_off = {"mail_reliability.daily_limit": "0"}
    quota_on = {"mail_reliability.daily_limit": "1000000000"}
    variants = {
        "stock": (args.stock_db, None),
        "ours_quota_off": (args.ours_db, quota_off),
        "ours_quota_on": (args.ours_db, quota_on),
    }
    order = list(variants)
    rates = {"stock": [], "ours_quota_off": [], "ours_quota_on": [], "raw": []}
    with _common.smtp_sink() as sink:
        for round_no in range(args.rounds):
            # Rotate the order each round so that load building up or fading on a shared
            # machine does not always favour the same variant.
            shift = round_no % len(order)
            for key in order[shift:] + order[:shift]:
                dbname, params = variants[key]
                rates[key].append(run_queue(dbname, sink, args.mails, params))
            rates["raw"].append(raw_ceiling(sink, args.mails))
    median = {key: statistics.median(values) for key, values in rates.items()}

    def ratio(num, den):
        # Median of the per-round ratios: the variants of one round ran back to back,
        # under the same load, so their ratio is steadier than a ratio of medians.
        pairs = zip(rates[num], rates[den], strict=True)
        return round(statistics.median(a / b for a, b in pairs), 3)

    report = {
        "mails_per_round": args.mails,
        "rounds": args.rounds,
        "mails_per_second": {k: [round(v, 1) for v in values] for k, values in rates.items()},
        "median_mails_per_second": {k: round(v, 1) for k, v in median.items()},
        "ratio_method": "median of per-round ratios, variant order rotated each round",
        "ratio_quota_off_vs_stock": ratio("ours_quota_off", "stock"),
        "ratio_quota_on_vs_stock": ratio("ours_quota_on", "stock"),
        "ratio_quota_on_vs_quota_off": ratio("ours_quota_on", "ours_quota_off"),
        "stock_vs_raw_ceiling": ratio("stock", "raw"),
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
