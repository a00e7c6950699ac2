# Demo data for bin/run, executed inside `odoo-bin shell` (``env`` is provided).
# Idempotent: it does its work once per database, marked by a system parameter.
# Mail really goes through the local SMTP sink, so failures are genuine SMTP
# replies (550 5.1.1, 552 5.3.4, ...), not hand-written states.
import os
from datetime import timedelta

from odoo import fields

ICP = env["ir.config_parameter"].sudo()  # noqa: F821 (env is given by odoo-bin shell)
if os.environ.get("MR_DNS_PORT"):
    # bin/run's DNS peer (zone bin/demo_dns_zone.json, a new port on every start): the
    # Email Health checks read SPF, DKIM and DMARC of example.com and news.example.com there.
    ICP.set_param("mail_reliability.dns_nameserver", "127.0.0.1")
    ICP.set_param("mail_reliability.dns_port", os.environ["MR_DNS_PORT"])
    env.cr.commit()  # noqa: F821
if ICP.get_param("mail_reliability.demo_loaded"):
    print("demo: already loaded")
else:
    env = env  # noqa: F821,PLW0127
    port = int(os.environ.get("MR_SMTP_PORT", "2525"))
    sink = {"smtp_host": "127.0.0.1", "smtp_port": port, "smtp_encryption": "none"}
    Server = env["ir.mail_server"]
    Server.create({"name": "Local SMTP sink (fault-injecting)", "sequence": 1, **sink})
    # Two more servers on the same sink show the sending pace (server form > Pacing); mail
    # goes through them only when it names them (the newsletter, the throttled reminder).
    paced = Server.create(
        {
            "name": "Campaign relay (paced)",
            "sequence": 10,
            "rate_per_minute": 120,
            "max_connections": 2,
            **sink,
        }
    )
    throttled = Server.create(
        {
            "name": "Office relay (throttled)",
            "sequence": 20,
            "rate_per_minute": 30,
            "max_connections": 3,
            **sink,
        }
    )
    # Committed before mail goes through them: a paced server's per-minute count is kept
    # on a connection of its own, which must see the server.
    env.cr.commit()
    domain = env["mail.alias.domain"].search([("name", "=", "example.com")], limit=1) or env[
        "mail.alias.domain"
    ].create({"name": "example.com"})
    env.company.alias_domain_id = domain

    admin = env.ref("base.user_admin")
    Partner = env["res.partner"]
    customer = Partner.create(
        {"name": "Deco Addict (demo)", "email": "info@deco-addict.example.com"}
    )
    bad = Partner.create({"name": "Bob Unknown", "email": "unknown-bob@example.com"})
    good = Partner.create({"name": "Alice Reachable", "email": "alice@example.com"})
    big = Partner.create({"name": "Tom Toobig", "email": "toobig-tom@example.com"})

    as_admin = customer.with_user(admin)
    as_admin.message_post(
        body="Hello Alice, here is the quotation we discussed.",
        partner_ids=good.ids,
        message_type="comment",
        subtype_xmlid="mail.mt_comment",
    )
    as_admin.message_post(
        body="Hello Bob, your order has shipped.",
        partner_ids=bad.ids,
        message_type="comment",
        subtype_xmlid="mail.mt_comment",
    )
    env.cr.commit()  # post-commit hooks send the chatter mail through the sink now

    Mail = env["mail.mail"]
    failing = Mail.create(
        [
            {
                "subject": "Catalogue (large attachment)",
                "body_html": "<p>Our catalogue.</p>",
                "email_from": "admin@example.com",
                "email_to": big.email,
                "auto_delete": False,
            },
            {
                "subject": "Invoice reminder",
                "body_html": "<p>Reminder.</p>",
                "email_from": "admin@example.com",
                "email_to": "full-mailbox@example.com",
                "auto_delete": False,
            },
        ]
    )
    failing.send(raise_exception=False)
    # The sink answers "421 4.7.0 Too many messages" to throttled*@: the office relay is
    # slowed down for 15 minutes (its form says why) and the reminder is retried later.
    reminder = Mail.create(
        {
            "subject": "Payment reminder",
            "body_html": "<p>Reminder.</p>",
            "email_from": "admin@example.com",
            "email_to": "throttled@customer-corp.example.com",
            "mail_server_id": throttled.id,
            "auto_delete": False,
        }
    )
    reminder.send(raise_exception=False)
    # Event invitations leave from a second sending domain, which has no DKIM key in the
    # demo DNS zone: the DKIM and bulk-sender health checks say so.
    events = Mail.create(
        {
            "subject": "Invitation: open house on Friday",
            "body_html": "<p>Join us on Friday.</p>",
            "email_from": "Demo Events <events@news.example.com>",
            "email_to": "alice@example.com",
            "auto_delete": False,
        }
    )
    events.send(raise_exception=False)
    ICP.set_param("mail_reliability.dkim_selectors", "odoo")
    Mail.create(
        [
            {
                "subject": f"Queued notice {n}",
                "body_html": f"<p>Queued notice {n}.</p>",
                "email_from": "admin@example.com",
                "email_to": f"customer{n}@example.com",
                "auto_delete": False,
            }
            for n in (1, 2, 3)
        ]
    )

    if "mailing.mailing" in env:
        contacts = env["mailing.contact"].create(
            [
                {"name": f"Subscriber {n}", "email": f"subscriber{n}@example.com"}
                for n in range(1, 6)
            ]
        )
        mlist = env["mailing.list"].create(
            {"name": "Newsletter (demo)", "contact_ids": [(6, 0, contacts.ids)]}
        )
        mailing = env["mailing.mailing"].create(
            {
                "subject": "December newsletter",
                "body_html": "<p>Season's greetings from the demo company.</p>",
                "mailing_model_id": env.ref("mass_mailing.model_mailing_list").id,
                "contact_list_ids": [(6, 0, mlist.ids)],
                "schedule_type": "scheduled",
                "schedule_date": fields.Datetime.now() + timedelta(days=1),
            }
        )
        mailing.mail_server_id = paced
        mailing.action_put_in_queue()

    # Colleagues notified by email: their notifications count against the daily
    # limit (the Email Health quota card offers to switch them to Handle in Odoo).
    # Queued, so that the queue cron sends them under the limit set below.
    colleagues = (
        env["res.users"]
        .with_context(no_reset_password=True)
        .create(
            [
                {
                    "name": name,
                    "login": login,
                    "email": f"{login}@example.com",
                    "notification_type": "email",
                    "groups_id": [(6, 0, [env.ref("base.group_user").id])],
                }
                for name, login in (("Marc Sales (demo)", "marc"), ("Joel Support (demo)", "joel"))
            ]
        )
    )
    customer.message_subscribe(partner_ids=colleagues.partner_id.ids)
    for body in ("Deco Addict called about the quotation.", "Delivery planned on Monday."):
        customer.with_user(admin).with_context(mail_notify_force_send=False).message_post(
            body=body, message_type="comment", subtype_xmlid="mail.mt_comment"
        )

    # Delivery statistics of the past two weeks' campaigns (counters only: the mail itself
    # is long auto-deleted), with one day of more than 5,000 emails to Gmail addresses:
    # the bulk-sender check then applies Gmail's rules as errors.
    from odoo.addons.mail_reliability.tools.delivery_stats import DeliveryCounts

    today = fields.Date.today()
    for days_ago in range(1, 15):
        counts = DeliveryCounts()
        scale = 12 if days_ago == 6 else 1  # the big campaign
        for recipient_domain, sent in (
            ("gmail.com", 520),
            ("yahoo.com", 140),
            ("outlook.com", 180),
        ):
            addresses = [f"r{n}@{recipient_domain}" for n in range(sent * scale)]
            counts.add(addresses, "attempted", mail_server_id=paced.id, sender_domain="example.com")
            counts.add(addresses, "sent", mail_server_id=paced.id, sender_domain="example.com")
            bounced = addresses[: len(addresses) // 150]
            counts.add(
                bounced, "hard_bounced", mail_server_id=paced.id, sender_domain="example.com"
            )
        env["mail.delivery.stats"]._mr_write_counts(counts, day=today - timedelta(days=days_ago))

    # The demo shows the daily limit at work (a real database has none unless its
    # administrator sets one: Settings > Emails > Daily Sending Limit).
    ICP.set_param("mail_reliability.daily_limit", "200")
    ICP.set_param("mail_reliability.demo_loaded", fields.Datetime.now())
    env.cr.commit()
    notifs = env["mail.notification"].search([("res_partner_id", "in", (bad | good).ids)])
    for notif in notifs:
        email, status = notif.res_partner_id.email, notif.notification_status
        print(f"demo: chatter notification to {email}: {status}")
    for mail in Mail.search([]):
        print(f"demo: queue mail {mail.subject!r}: {mail.state}")
