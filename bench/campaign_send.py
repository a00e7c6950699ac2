"""A campaign from "Send" to the last mail accepted: stock vs ours with 1 and 2 queue lanes.

One N-recipient campaign (default 10,000; a mailing list of N contacts) is timed from
the click on "Send" to the moment the loopback SMTP sink has accepted its N-th mail,
in three variants measured in the same run:

  * ``stock``: stock Odoo 18 (database with ``mass_mailing`` only);
  * ``ours_1_lane``: ``mail_reliability`` + ``mail_reliability_mass_mailing``, one queue
    lane (``mail_reliability.queue_lanes`` = 1, the default);
  * ``ours_2_lanes``: the same database with ``mail_reliability.queue_lanes`` = 2.

What each variant runs, in this order, inside the timed section:

1. "Send": ``mailing.action_launch()`` (what the form's Send button calls in Odoo 18:
   ``schedule_type = now``, then ``action_put_in_queue``: state ``in_queue`` and a trigger
   of the "Mail Marketing: Process queue" cron), committed;
2. that cron's code, as one cron worker runs it: ``mailing.mailing._process_mass_mailing_queue()``
   on a fresh cursor of this (already loaded) Odoo process; the composer commits a batch of
   generated mails at a time, as in a cron (``auto_commit``), then it is committed;
3. the "Mail: Email Queue Manager" cron's code: ``mail.mail.process_email_queue()`` in
   ``reliability/worker.py`` processes (``--until-idle``: queue runs on fresh cursors,
   each with stock's per-mail commits, until no due mail is left), started and loaded
   before the clock and released by a signal file once generation is committed:
   one process with one thread for ``stock`` and ``ours_1_lane`` (the queue cron is one job,
   run by one cron worker at a time), two processes with one lane thread each for
   ``ours_2_lanes`` (the lane jobs run by cron threads of two Odoo servers, as
   ``bin/bench-lanes`` does).

Generation then sending, one after the other, is what one cron worker does; with more
cron workers the queue could start while generation goes on (the bridge triggers the
queue cron after each batch): that overlap is not measured here.

Each run checks the sink against the campaign: every recipient accepted exactly once
(duplicates and lost counted; either one fails the run). Rounds rotate the variant order;
a ratio is the median of the per-round ratios to ``stock``. Setup (the list, a draft
campaign, the sink's mail server, the lanes setting, ``VACUUM ANALYZE``) and the
clean-up of each round's campaign are outside the timed section.

Run through ``bin/bench-campaign`` (it prepares the venv, PostgreSQL and the databases).
"""

import collections
import json
import pathlib
import statistics
import tempfile
import time

import _common
from mailing_generation import create_campaign, delete_campaigns, ensure_list
from queue_throughput import QUEUE_TABLES, run_queue

SUBJECT = "Benchmark campaign send"
LANES_PARAM = "mail_reliability.queue_lanes"
# (database option, queue lanes or None for stock, sending worker processes)
VARIANTS = {
    "stock": ("stock_db", None, 1),
    "ours_1_lane": ("ours_db", 1, 1),
    "ours_2_lanes": ("ours_db", 2, 2),
}
TABLES = (*QUEUE_TABLES, "mailing_trace", "mailing_mailing")
WORKER_DEADLINE = 3600


def _cleanup(env):
    """Remove the campaigns of earlier runs, their mails, messages and traces."""
    env.cr.execute("SELECT id FROM mailing_mailing WHERE subject = %s", [SUBJECT])
    ids = [row[0] for row in env.cr.fetchall()]
    if ids:
        delete_campaigns(env.cr, ids)


def prepare(dbname, sink, list_id, lanes):
    """Untimed: an empty queue sending to the sink, the lanes setting, a draft campaign."""
    with _common.environment(dbname) as env:
        _cleanup(env)
        if lanes is not None:
            env["ir.config_parameter"].set_param(LANES_PARAM, False)
    params = {} if lanes is None else {LANES_PARAM: str(lanes)}
    run_queue(dbname, sink, 0, params, send=False)  # settings, server, empty queue
    with _common.environment(dbname) as env:
        mailing_id = create_campaign(env, SUBJECT, list_id).id
    _common.vacuum(dbname, TABLES)
    sink.reset()
    return mailing_id


def sink_report(sink, count):
    """Every recipient of the campaign accepted once? (``reader<n>@example.com``)"""
    seen = collections.Counter()
    others = 0
    for delivery in list(sink.deliveries):
        for rcpt in delivery.rcpt_tos:
            local, _at, domain = rcpt.lower().partition("@")
            if domain == "example.com" and local.startswith("reader") and local[6:].isdigit():
                seen[int(local[6:])] += 1
            else:
                others += 1
    return {
        "accepted": sum(seen.values()),
        "duplicates": sum(n - 1 for n in seen.values() if n > 1),
        "lost": sum(1 for number in range(count) if not seen[number]),
        "other_recipients": others,
    }


def run_once(args, sink, key, list_id, go_dir):
    """One variant: returns (seconds, generation seconds, report)."""
    db_option, lanes, processes = VARIANTS[key]
    dbname = getattr(args, db_option)
    count = args.recipients
    mailing_id = prepare(dbname, sink, list_id, lanes)
    threads = [1] * processes
    with _common.QueueWorkers(args.config, dbname, threads, go_dir, WORKER_DEADLINE) as workers:
        start = time.perf_counter()
        with _common.environment(dbname) as env:  # the Send button
            env["mailing.mailing"].browse(mailing_id).action_launch()
        with _common.environment(dbname) as env:  # the Mail Marketing: Process queue cron
            env["mailing.mailing"]._process_mass_mailing_queue()
        generated = time.perf_counter() - start
        # the Email Queue Manager cron (and the lane jobs)
        finished, stats = workers.run(sink, count)
    elapsed = finished - start
    report = sink_report(sink, count)
    report["sent_per_process"] = [s["sent"] for s in stats]
    report["lock_skips"] = sum(s["skipped"] for s in stats)
    with _common.environment(dbname) as env:
        env.cr.execute("SELECT state FROM mailing_mailing WHERE id = %s", [mailing_id])
        report["mailing_state"] = env.cr.fetchone()[0]
        env.cr.execute(
            "SELECT count(*) FROM mailing_trace WHERE mass_mailing_id = %s", [mailing_id]
        )
        report["traces"] = env.cr.fetchone()[0]
        _cleanup(env)
    if report["lost"] or report["duplicates"]:
        raise SystemExit(
            f"{key}: {report['lost']} lost, {report['duplicates']} duplicates "
            f"of {count} recipients ({report})"
        )
    return elapsed, generated, report


def main():
    parser = _common.parser(__doc__)
    parser.add_argument("--recipients", type=int, default=10000)
    parser.add_argument("--rounds", type=int, default=1)
    args = _common.parse_args(parser)
    run = _common.Run("campaign_send", args)

    lists = {db: ensure_list(db, args.recipients) for db in (args.stock_db, args.ours_db)}
    order = list(VARIANTS)
    seconds = {key: [] for key in order}
    generation = {key: [] for key in order}
    reports = {key: [] for key in order}
    loads = {key: [] for key in order}
    with _common.smtp_sink() as sink, tempfile.TemporaryDirectory() as tmp:
        for round_no in range(args.rounds):
            shift = round_no % len(order)
            for key in order[shift:] + order[:shift]:
                list_id = lists[getattr(args, VARIANTS[key][0])]
                load = _common.load_average()
                elapsed, generated, report = run_once(args, sink, key, list_id, pathlib.Path(tmp))
                seconds[key].append(elapsed)
                generation[key].append(generated)
                reports[key].append(report)
                loads[key].append(load)
                print(
                    f"round {round_no + 1}: {key} {elapsed:.1f}s "
                    f"(generation {generated:.1f}s, {args.recipients / elapsed:.1f} mails/s), "
                    f"load {load}, {report}",
                    flush=True,
                )
    with _common.environment(args.ours_db) as env:
        env["ir.config_parameter"].set_param(LANES_PARAM, False)

    def ratio(key):
        # Speed relative to stock (stock seconds / variant seconds), per round.
        pairs = zip(seconds["stock"], seconds[key], strict=True)
        return round(statistics.median(s / v for s, v in pairs), 3)

    result = {
        "recipients": args.recipients,
        "rounds": args.rounds,
        "variants": {
            key: {
                "database": getattr(args, VARIANTS[key][0]),
                "queue_lanes": VARIANTS[key][1],
                "sending_processes": VARIANTS[key][2],
            }
            for key in order
        },
        "seconds": {k: [round(v, 1) for v in values] for k, values in seconds.items()},
        "generation_seconds": {
            k: [round(v, 1) for v in values] for k, values in generation.items()
        },
        "median_seconds": {k: round(statistics.median(v), 1) for k, v in seconds.items()},
        "median_mails_per_second": {
            k: round(args.recipients / statistics.median(v), 1) for k, v in seconds.items()
        },
        "ratio_method": "speed vs stock: median of per-round stock seconds / variant seconds, "
        "variant order rotated each round",
        "ratio_ours_1_lane_vs_stock": ratio("ours_1_lane"),
        "ratio_ours_2_lanes_vs_stock": ratio("ours_2_lanes"),
        "checks": reports,
        "load_average_before_each_run": loads,
    }
    print(json.dumps(result, indent=2))
    print(
        "campaign send: ours 1 lane/stock = {:.2f}x (target >= 1.0x), "
        "ours 2 lanes/stock = {:.2f}x".format(
            result["ratio_ours_1_lane_vs_stock"], result["ratio_ours_2_lanes_vs_stock"]
        )
    )
    run.write(result)


if __name__ == "__main__":
    main()
