# Demo data for `bin/run --mta postfix`, executed inside `odoo-bin shell` (``env`` is given).
# Points Odoo at the real mail system started by mail_reliability/tests/peers/mta_kit.py (ports in
# $MR_MTA_STATE, new on every start, so the servers are updated each time), then, once per
# database, sends mail that Postfix really delivers, bounces and defers.
import json
import os
import time

from odoo import fields

env = env  # noqa: F821,PLW0127 (env is given by odoo-bin shell)
with open(os.environ["MR_MTA_STATE"]) as handle:
    kit = json.load(handle)
ICP = env["ir.config_parameter"].sudo()
domain_name = kit["odoo_domain"]

# Outgoing: Postfix (OpenDKIM signs odoo.test).
Server = env["ir.mail_server"].with_context(active_test=False)
server = Server.search([("name", "=", "Postfix (loopback)")], limit=1)
values = {
    "name": "Postfix (loopback)",
    "smtp_host": "127.0.0.1",
    "smtp_port": kit["smtp_port"],
    "smtp_encryption": "none",
    "sequence": 1,
    "active": True,
}
server.write(values) if server else Server.create(values)
domain = env["mail.alias.domain"].search([("name", "=", domain_name)], limit=1) or env[
    "mail.alias.domain"
].create({"name": domain_name, "bounce_alias": "bounce", "catchall_alias": "catchall"})
env.company.alias_domain_id = domain
env.company.email = f"info@{domain_name}"
env.ref("base.user_admin").email = f"admin@{domain_name}"
# Health checks: the DNS peer publishes SPF, DKIM (selector of the generated key) and DMARC.
ICP.set_param("mail_reliability.dns_nameserver", "127.0.0.1")
ICP.set_param("mail_reliability.dns_port", str(kit["dns_port"]))
ICP.set_param("mail_reliability.dkim_selectors", kit["dkim_selector"])
# Incoming: the catchall mailbox in Dovecot, over POP3 and IMAP.
Fetchmail = env["fetchmail.server"]
for kind, port in (("pop", kit["pop3_port"]), ("imap", kit["imap_port"])):
    name = f"Dovecot catchall ({kind.upper()})"
    values = {
        "name": name,
        "server_type": kind,
        "server": "127.0.0.1",
        "port": port,
        "is_ssl": False,
        "user": kit["odoo_mailbox"],
        "password": kit["password"],
        "active": kind == "imap",  # one poller is enough; both work
    }
    record = Fetchmail.with_context(active_test=False).search([("name", "=", name)], limit=1)
    record = record.write(values) and record if record else Fetchmail.create(values)
    if record.active:
        record.button_confirm_login()
env.cr.commit()

if ICP.get_param("mail_reliability.demo_postfix_loaded"):
    print("demo: servers updated for this start (demo mail already sent)")
else:
    Partner = env["res.partner"]
    customer = Partner.create({"name": "Deco Addict (demo)", "email": "info@deco.example.test"})
    alice = Partner.create({"name": "Alice (delivered)", "email": "alice@example.test"})
    nobody = Partner.create({"name": "Nobody (unknown user)", "email": "nobody@example.test"})
    carol = Partner.create({"name": "Carol (server down)", "email": "carol@slow.test"})
    as_admin = customer.with_user(env.ref("base.user_admin"))
    for partner, text in (
        (alice, "Hello Alice, here is the quotation."),
        (nobody, "Hello, your order has shipped."),
        (carol, "Hello Carol, your invoice."),
    ):
        as_admin.message_post(
            body=text,
            partner_ids=partner.ids,
            message_type="comment",
            subtype_xmlid="mail.mt_comment",
        )
    env.cr.commit()  # post-commit hooks send the chatter mail through Postfix now
    print("demo: waiting for Postfix's bounce and delay warning ...")
    time.sleep(30)  # delay_warning_time is 20 seconds in bin/run
    Fetchmail.search([("active", "=", True)]).fetch_mail()
    ICP.set_param("mail_reliability.demo_postfix_loaded", fields.Datetime.now())
    env.cr.commit()
    for notif in env["mail.notification"].search(
        [("res_partner_id", "in", (alice | nobody | carol).ids)]
    ):
        why = notif.delivery_warning or notif.failure_reason or ""
        print(
            f"demo: {notif.res_partner_id.email}: {notif.notification_status}, "
            f"queue id {notif.smtp_queue_id}, {why}"
        )
