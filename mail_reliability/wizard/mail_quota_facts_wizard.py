# Copyright 2026 mail_reliability contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from datetime import timedelta

from odoo import _, api, fields, models


class MailQuotaFactsWizard(models.TransientModel):
    """The facts a provider (or Odoo) asks for before raising a daily email quota."""

    _name = "mail.quota.facts.wizard"
    _description = "Daily limit increase: facts to send"

    facts = fields.Text(readonly=True)

    @api.model
    def action_open(self):
        wizard = self.create({"facts": self._quota_facts()})
        return {
            "type": "ir.actions.act_window",
            "name": _("Facts for a daily limit increase"),
            "res_model": self._name,
            "res_id": wizard.id,
            "view_mode": "form",
            "target": "new",
        }

    @api.model
    def _quota_facts(self):
        env = self.env
        users = env["res.users"].sudo().search_count([("share", "=", False)])
        modules = (
            env["ir.module.module"]
            .sudo()
            .search([("state", "=", "installed"), ("application", "=", True)], order="shortdesc")
        )
        marketing = {
            "mass_mailing": "Email Marketing",
            "marketing_automation": "Marketing Automation",
        }
        app_lines = []
        for module in modules:
            flag = _(" [bulk sender]") if module.name in marketing else ""
            app_lines.append(f"  - {module.shortdesc} ({module.name}){flag}")
        since = fields.Datetime.now() - timedelta(days=30)
        notif = env["mail.notification"].sudo()
        bounced = notif.search_count(
            [
                ("notification_type", "=", "email"),
                ("notification_status", "=", "bounce"),
                ("mail_message_id.date", ">=", since),
            ]
        )
        delivered = notif.search_count(
            [
                ("notification_type", "=", "email"),
                ("notification_status", "in", ("sent", "bounce")),
                ("mail_message_id.date", ">=", since),
            ]
        )
        if "mailing.trace" in env:
            trace = env["mailing.trace"].sudo()
            bounced += trace.search_count(
                [("trace_status", "=", "bounce"), ("create_date", ">=", since)]
            )
            delivered += trace.search_count(
                [
                    ("trace_status", "not in", ("outgoing", "process", "error", "cancel")),
                    ("create_date", ">=", since),
                ]
            )
        rate = f"{100.0 * bounced / delivered:.1f}%" if delivered else _("no email sent")
        domains = env["mail.alias.domain"].sudo().search([])
        custom = [d.name for d in domains if not self._is_placeholder_domain(d.name)]
        placeholder = [d.name for d in domains if self._is_placeholder_domain(d.name)]
        used, limit, reset = env["mail.quota.usage"].sudo()._usage_today()
        lines = [
            _("Database: %(db)s", db=env.cr.dbname),
            _(
                "Daily limit: %(limit)s (used today: %(used)s, resets %(reset)s UTC)",
                limit=limit or _("none"),
                used=used,
                reset=reset,
            ),
            _("Internal users: %(count)s", count=users),
            _("Installed apps:"),
            *app_lines,
            _(
                "Bounce rate, last 30 days: %(rate)s (%(bounced)s of %(total)s)",
                rate=rate,
                bounced=bounced,
                total=delivered,
            ),
            _(
                "Alias domains with a custom domain: %(domains)s",
                domains=", ".join(custom) or _("none"),
            ),
        ]
        if placeholder:
            lines.append(_("Alias domains still on a placeholder: %(d)s", d=", ".join(placeholder)))
        return "\n".join(lines)

    @api.model
    def _is_placeholder_domain(self, name):
        name = (name or "").lower()
        return (
            not name
            or name == "localhost"
            or name.startswith("localhost.")
            or name.startswith("example.")
            or ".example." in name
            or name.endswith(".localhost")
        )
