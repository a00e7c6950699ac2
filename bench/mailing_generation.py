"""Email Marketing generation: seconds to turn one campaign into queued emails.

Compares, in the same run, one N-recipient campaign (default 10,000) processed by
the "Mail Marketing: Process queue" step (``_process_mass_mailing_queue``):
  * stock Odoo 18 (database with ``mass_mailing`` only),
  * Odoo 18 with ``mail_reliability`` and its Email Marketing bridge.

Generation runs as the cron does it (``auto_commit``: a commit per batch of mails).
Rounds alternate stock / ours to spread machine noise; the median of each is reported,
and the ratio ours/stock is the figure that matters (target: at most 1.1).
Each round's campaign, mails and traces are deleted afterwards.

Run through ``bin/bench-mailing`` (it prepares the venv, PostgreSQL and the databases).
"""

import json
import statistics
import time

import _common


def ensure_list(dbname, count):
    with _common.environment(dbname) as env:
        name = f"Benchmark readers ({count})"
        mlist = env["mailing.list"].search([("name", "=", name)], limit=1)
        if mlist:
            return mlist.id
        contacts = env["mailing.contact"].create(
            [{"name": f"Reader {n}", "email": f"reader{n}@example.com"} for n in range(count)]
        )
        mlist = env["mailing.list"].create({"name": name, "contact_ids": [(6, 0, contacts.ids)]})
        return mlist.id


def create_campaign(env, subject, list_id):
    """A draft campaign to the mailing list ``list_id``. Campaigns left queued or sending
    by an interrupted run go back to draft first: the queue cron would process them too."""
    env["mailing.mailing"].search([("state", "in", ("in_queue", "sending"))]).write(
        {"state": "draft"}
    )
    return env["mailing.mailing"].create(
        {
            "subject": subject,
            "body_html": "<p>Hello <t t-out='object.name'/></p>" + "<p>lorem ipsum</p>" * 20,
            "email_from": "news@example.com",
            "mailing_model_id": env.ref("mass_mailing.model_mailing_list").id,
            "contact_list_ids": [(6, 0, [list_id])],
        }
    )


def delete_campaigns(cr, ids):
    """Delete the campaigns ``ids``, their mails, messages and traces, so that every
    round starts from the same database."""
    cr.execute(
        "DELETE FROM mail_message WHERE id IN "
        "(SELECT mail_message_id FROM mail_mail WHERE mailing_id = ANY(%s))",
        [ids],
    )
    cr.execute("DELETE FROM mail_mail WHERE mailing_id = ANY(%s)", [ids])
    cr.execute("DELETE FROM mailing_trace WHERE mass_mailing_id = ANY(%s)", [ids])
    cr.execute("DELETE FROM mailing_mailing WHERE id = ANY(%s)", [ids])


def run_generation(dbname, list_id, count):
    with _common.environment(dbname) as env:
        mailing = create_campaign(env, "Benchmark campaign", list_id)
        mailing.action_launch()
        mailing_id = mailing.id
    with _common.environment(dbname) as env:
        cr = env.cr
        start = time.perf_counter()
        env["mailing.mailing"]._process_mass_mailing_queue()
        cr.commit()
        elapsed = time.perf_counter() - start
        cr.execute("SELECT count(*) FROM mail_mail WHERE mailing_id = %s", [mailing_id])
        generated = cr.fetchone()[0]
        cr.execute("SELECT state FROM mailing_mailing WHERE id = %s", [mailing_id])
        state = cr.fetchone()[0]
        delete_campaigns(cr, [mailing_id])
    if generated != count or state != "done":
        raise SystemExit(f"{dbname}: {generated} of {count} mails generated, mailing {state}")
    return elapsed


def main():
    parser = _common.parser(__doc__)
    parser.add_argument("--recipients", type=int, default=10000)
    parser.add_argument("--rounds", type=int, default=3)
    args = _common.parse_args(parser)
    run = _common.Run("mailing_generation", args)

    lists = {db: ensure_list(db, args.recipients) for db in (args.stock_db, args.ours_db)}
    seconds = {"stock": [], "ours": []}
    for _round in range(args.rounds):
        for key, db in (("stock", args.stock_db), ("ours", args.ours_db)):
            seconds[key].append(run_generation(db, lists[db], args.recipients))
            print(f"round {_round + 1}: {key} {seconds[key][-1]:.1f}s", flush=True)
    median = {key: statistics.median(values) for key, values in seconds.items()}
    ratio = median["ours"] / median["stock"]
    report = {
        "recipients": args.recipients,
        "rounds": args.rounds,
        "seconds": {k: [round(v, 2) for v in values] for k, values in seconds.items()},
        "median_seconds": {k: round(v, 2) for k, v in median.items()},
        "ratio_ours_vs_stock": round(ratio, 3),
    }
    print(json.dumps(report, indent=2))
    print(f"mailing generation: ours/stock = {ratio:.2f}x (target <= 1.1x)")
    run.write(report)


if __name__ == "__main__":
    main()
