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

Queue lanes mode (``--lanes 1,2,4``, run by ``bin/bench-lanes``): the same
``--lane-mails`` queued mails (2,000) sent by 1 lane (one worker process, as the
one Email Queue Manager job) and by 2 and 4 lanes (``mail_reliability.queue_lanes``)
in two worker processes (``reliability/worker.py --threads``, each thread a lane
as a cron thread would run it), timed from the start signal to the last mail the
sink accepted. The sink's arrival order is checked: each SMTP session (one claim of
one lane) got a contiguous run of the queue in queue order, no mail twice.
"""

import collections
import json
import logging
import pathlib
import re
import smtplib
import statistics
import tempfile
import threading
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


def run_queue(dbname, sink, count, params=None, send=True):
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
    if not send:
        return None
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


SUBJECT_RE = re.compile(r"Bench (\d+)\b")


def _lane_sink():
    """The sink, also noting the SMTP session of each delivery in arrival order."""
    from peers import smtp_sink as sink_module

    class Handler(sink_module._Handler):
        async def handle_DATA(self, server, session, envelope):
            reply = await super().handle_DATA(server, session, envelope)
            if reply.startswith("250"):
                found = SUBJECT_RE.search(envelope.content.decode("utf-8", "replace"))
                with self.sink.order_lock:
                    # the session, not id(session): a finished session's id can be reused
                    self.sink.order.append((session, int(found.group(1)) if found else -1))
            return reply

    class LaneSink(sink_module.SmtpSink):
        handler_class = Handler

        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self.order = []
            self.order_lock = threading.Lock()

    logging.getLogger(sink_module.__name__).setLevel(logging.WARNING)
    return LaneSink()


def fifo_report(order, count):
    """Check the sink's arrival order: each SMTP session (one claim of one lane, or
    one stock batch) got a run of the queue in queue order (= creation order here),
    every mail exactly once."""
    sessions = {}
    for session, number in order:
        sessions.setdefault(session, []).append(number)
    unordered = sum(1 for numbers in sessions.values() if numbers != sorted(numbers))
    gaps = sum(
        1 for numbers in sessions.values() if max(numbers) - min(numbers) + 1 != len(numbers)
    )
    seen = collections.Counter(number for _session, number in order)
    return {
        "batches": len(sessions),
        "batches_out_of_order": unordered,
        "batches_not_contiguous": gaps,
        "duplicates": sum(n - 1 for n in seen.values() if n > 1),
        "lost": sum(1 for number in range(count) if not seen[number]),
    }


def run_lanes_once(args, sink, lanes, go_dir):
    """``lanes`` queue lanes work ``args.lane_mails`` queued mails: one process for one
    lane (the Email Queue Manager runs in one cron worker at a time), else two
    processes with ``lanes / 2`` lane threads each. Returns (mails/s, FIFO report)."""
    dbname = args.ours_db
    params = {
        "mail_reliability.daily_limit": "0",
        "mail_reliability.queue_lanes": str(lanes),
    }
    with _common.environment(dbname) as env:
        env["ir.config_parameter"].set_param("mail_reliability.queue_lanes", False)
    run_queue(dbname, sink, args.lane_mails, params, send=False)  # settings, server, queue
    _common.vacuum(dbname, QUEUE_TABLES)
    sink.reset()
    with sink.order_lock:
        sink.order.clear()
    processes = [lanes] if lanes == 1 else [lanes // 2, lanes - lanes // 2]
    with _common.QueueWorkers(args.config, dbname, processes, go_dir, 900) as workers:
        start = time.perf_counter()
        finished, stats = workers.run(sink, args.lane_mails)
    elapsed = finished - start
    report = fifo_report(list(sink.order), args.lane_mails)
    report["lock_skips"] = sum(s["skipped"] for s in stats)
    report["sent_per_process"] = [s["sent"] for s in stats]
    if report["lost"]:
        raise SystemExit(
            f"{lanes} lane(s): {report['lost']} of {args.lane_mails} mails not delivered"
        )
    return args.lane_mails / elapsed, report


def main_lanes(args):
    """1 lane vs 2 and 4 lanes on the same queue, in one run (order rotated per round)."""
    run = _common.Run("queue_lanes", args)
    counts = [int(n) for n in args.lanes.split(",")]
    rates = {n: [] for n in counts}
    reports = {n: [] for n in counts}
    loads = []
    sink = _lane_sink()
    with sink, tempfile.TemporaryDirectory() as tmp:
        for round_no in range(args.rounds):
            shift = round_no % len(counts)
            for lanes in counts[shift:] + counts[:shift]:
                load = _common.load_average()
                rate, report = run_lanes_once(args, sink, lanes, pathlib.Path(tmp))
                rates[lanes].append(rate)
                reports[lanes].append(report)
                loads.append(load)
                print(
                    f"round {round_no + 1}: {lanes} lane(s) {rate:.1f} mails/s, "
                    f"load {load}, {report}",
                    flush=True,
                )
    with _common.environment(args.ours_db) as env:
        env["ir.config_parameter"].set_param("mail_reliability.queue_lanes", False)
    base = counts[0]

    def ratio(num):
        pairs = zip(rates[num], rates[base], strict=True)
        return round(statistics.median(a / b for a, b in pairs), 3)

    result = {
        "mails": args.lane_mails,
        "rounds": args.rounds,
        "lanes": counts,
        "mails_per_second": {str(n): [round(v, 1) for v in values] for n, values in rates.items()},
        "median_mails_per_second": {
            str(n): round(statistics.median(v), 1) for n, v in rates.items()
        },
        "ratio_method": "median of per-round ratios to 1 lane, order rotated each round",
        "ratios_vs_one_lane": {str(n): ratio(n) for n in counts},
        "fifo_and_duplicates": {str(n): reports[n] for n in counts},
        "load_average_before_each_run": loads,
    }
    print(json.dumps(result, indent=2))
    print(
        "queue lanes: "
        + ", ".join(
            f"{n} lanes/1 lane = {result['ratios_vs_one_lane'][str(n)]:.2f}x" for n in counts[1:]
        )
        + " (target: 2 lanes >= 1.6x)"
    )
    run.write(result)


def main():
    parser = _common.parser(__doc__)
    parser.add_argument("--mails", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument(
        "--lanes",
        help="queue lanes mode: compare these lane counts (e.g. 1,2,4) on --lane-mails "
        "queued mails, in worker processes (ours database only)",
    )
    parser.add_argument("--lane-mails", type=int, default=2000)
    args = _common.parse_args(parser)
    if args.lanes:
        main_lanes(args)
        return
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
