"""Chatter load: SQL queries to fetch a chatter holding 200 failed (or retrying) messages.

Counts, in the same run and on the same data, the queries of the chatter's
``/mail/thread/messages`` route (``mail.message._message_fetch`` then
``Store(messages, for_current_user=True).get_result()``) as an internal user:
  * stock Odoo 18 (database with ``mail`` only),
  * Odoo 18 with ``mail_reliability``.

Data, created in each database and rolled back afterwards: one partner whose chatter
holds N comments (default 200) by an internal user, each with two email notifications:
  * ``failed``: notifications in ``exception``, failure type ``mail_smtp_recipient``
    (550 5.1.1) with our addon, stock's ``mail_smtp`` on stock (its selection has no other
    SMTP type);
  * ``retrying``: notifications in ``process`` linked to an ``outgoing`` mail scheduled
    5 minutes ahead (what our deferral leaves after a 451 4.7.1), failure type
    ``mail_smtp_temporary`` with our addon, ``mail_smtp`` on stock.
Fields that only exist with our addon (``smtp_code``, ``smtp_status``, ``retry_count``)
are filled where they exist. The ormcaches are warmed by one fetch and the record cache
is cleared before the counted one, so both databases count the same thing.

Target (issue #4): ours <= stock + 2 queries. Run through ``bin/bench-chatter`` or
``bin/bench-all``. The same budget is checked in the test suite by
``mail_reliability/tests/test_chatter_queries.py`` (our additions switched off in one
database); this bench compares against a real stock database.
"""

import json
from datetime import timedelta

import _common

from odoo import fields

SCENARIOS = {
    "failed": {
        "status": "exception",
        "failure_type": "mail_smtp_recipient",
        "smtp": (550, "5.1.1"),
        "with_mail": False,
    },
    "retrying": {
        "status": "process",
        "failure_type": "mail_smtp_temporary",
        "smtp": (451, "4.7.1"),
        "with_mail": True,
    },
}
STOCK_SMTP_FAILURE_TYPE = "mail_smtp"


def _only_existing(env, model, values):
    """``values`` without the fields that ``model`` does not have in this database."""
    known = env[model]._fields
    return {key: value for key, value in values.items() if key in known}


def _failure_type(env, wanted):
    selection = env["mail.notification"]._fields["failure_type"].get_values(env)
    return wanted if wanted in selection else STOCK_SMTP_FAILURE_TYPE


def create_data(env, scenario, count):
    """Create the chatter of ``scenario``; return (user, record, failure type used)."""
    spec = SCENARIOS[scenario]
    user = (
        env["res.users"]
        .with_context(no_reset_password=True, mail_create_nolog=True)
        .create(
            {
                "name": "Chatter User",
                "login": f"mr_bench_chatter_{scenario}",
                "email": f"mr_bench_chatter_{scenario}@example.com",
                "groups_id": [(6, 0, [env.ref("base.group_user").id])],
            }
        )
    )
    record = env["res.partner"].create({"name": "Busy customer"})
    recipients = env["res.partner"].create(
        [{"name": f"Recipient {i}", "email": f"r{i}@example.com"} for i in range(2)]
    )
    messages = env["mail.message"].create(
        [
            {
                "model": "res.partner",
                "res_id": record.id,
                "body": f"<p>Message {i}</p>",
                "message_type": "comment",
                "author_id": user.partner_id.id,
                "subtype_id": env.ref("mail.mt_comment").id,
            }
            for i in range(count)
        ]
    )
    mails = env["mail.mail"]
    if spec["with_mail"]:
        mails = env["mail.mail"].create(
            [
                _only_existing(
                    env,
                    "mail.mail",
                    {
                        "mail_message_id": message.id,
                        "state": "outgoing",
                        "retry_count": 1,
                        "scheduled_date": fields.Datetime.now() + timedelta(minutes=5),
                    },
                )
                for message in messages
            ]
        )
    failure_type = _failure_type(env, spec["failure_type"])
    code, status = spec["smtp"]
    env["mail.notification"].create(
        [
            _only_existing(
                env,
                "mail.notification",
                {
                    "mail_message_id": message.id,
                    "res_partner_id": partner.id,
                    "notification_type": "email",
                    "notification_status": spec["status"],
                    "failure_type": failure_type,
                    "failure_reason": f"{code} {status} refused",
                    "smtp_code": code,
                    "smtp_status": status,
                    "mail_mail_id": mails[index].id if mails else False,
                },
            )
            for index, message in enumerate(messages)
            for partner in recipients
        ]
    )
    env.flush_all()
    return user, record, failure_type


def count_fetch(env, user, record, count):
    """Queries of the chatter's /mail/thread/messages for ``record``, as ``user``."""
    # Importable only once the configuration (addons path) is loaded.
    from odoo.addons.mail.tools.discuss import Store

    env = env(user=user.id)
    env.invalidate_all()
    env.registry.clear_cache()
    domain = [
        ("res_id", "=", record.id),
        ("model", "=", record._name),
        ("message_type", "!=", "user_notification"),
    ]
    # Warm the ormcaches, so that both databases count the same thing.
    Store(env["mail.message"]._message_fetch(domain, limit=count)["messages"])
    env.invalidate_all()
    before = env.cr.sql_log_count
    messages = env["mail.message"]._message_fetch(domain, limit=count)["messages"]
    data = Store(messages, for_current_user=True).get_result()
    queries = env.cr.sql_log_count - before
    if len(messages) != count:
        raise SystemExit(f"{env.cr.dbname}: fetched {len(messages)} of {count} messages")
    notifications = data.get("mail.notification", [])
    if len(notifications) != 2 * count:
        raise SystemExit(
            f"{env.cr.dbname}: {len(notifications)} notifications in the payload, "
            f"expected {2 * count}"
        )
    return queries


def measure(dbname, scenario, count):
    """Create the data, count the fetch, roll everything back; return (queries, type)."""
    with _common.environment(dbname) as env:
        try:
            user, record, failure_type = create_data(env, scenario, count)
            queries = count_fetch(env, user, record, count)
        finally:
            env.cr.rollback()
            env.registry.clear_cache()
    return queries, failure_type


def main():
    parser = _common.parser(__doc__)
    parser.add_argument("--messages", type=int, default=200)
    args = _common.parse_args(parser)
    run = _common.Run("chatter_queries", args)

    scenarios = {}
    for scenario in SCENARIOS:
        stock, stock_type = measure(args.stock_db, scenario, args.messages)
        ours, ours_type = measure(args.ours_db, scenario, args.messages)
        scenarios[scenario] = {
            "stock_queries": stock,
            "ours_queries": ours,
            "difference": ours - stock,
            "failure_type": {"stock": stock_type, "ours": ours_type},
        }
        print(
            f"chatter fetch, {args.messages} messages, {scenario}: "
            f"stock {stock} queries, ours {ours} ({ours - stock:+d}) (target <= stock + 2)",
            flush=True,
        )
    report = {
        "messages": args.messages,
        "notifications_per_message": 2,
        "scenarios": scenarios,
        "max_difference": max(s["difference"] for s in scenarios.values()),
    }
    print(json.dumps(report, indent=2))
    run.write(report)


if __name__ == "__main__":
    main()
