# Copyright 2026 mail_reliability contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Mail crons may not run more often than every 5 minutes (Odoo recommends 15).

A shorter interval does not send mail faster: runs overlap, time out and
leave mail half processed. The guard holds for the form, imports and write().

``ir.cron._mr_trigger(xmlid, at)`` is the one way both addons trigger a cron.
"""

from datetime import timedelta

from odoo import _, api, fields, models
from odoo.exceptions import ValidationError

from ..tools.constants import QUEUE_CRON_XMLID

MIN_INTERVAL_MINUTES = 5
RECOMMENDED_INTERVAL_MINUTES = 15
MINUTES_PER_UNIT = {
    "minutes": 1,
    "hours": 60,
    "days": 60 * 24,
    "weeks": 60 * 24 * 7,
    "months": 60 * 24 * 28,
}
GUARDED_MODULES = ("mail_reliability", "mail_reliability_mass_mailing")
GUARDED_XMLIDS = (QUEUE_CRON_XMLID,)


class IrCron(models.Model):
    _inherit = "ir.cron"

    def _mr_is_guarded(self):
        self.ensure_one()
        xmlids = self.get_external_id().get(self.id, "")
        module = xmlids.split(".", 1)[0]
        return xmlids in GUARDED_XMLIDS or module in GUARDED_MODULES

    @api.constrains("interval_number", "interval_type")
    def _check_mail_interval(self):
        for cron in self:
            minutes = cron.interval_number * MINUTES_PER_UNIT.get(cron.interval_type, 1)
            if minutes < MIN_INTERVAL_MINUTES and cron._mr_is_guarded():
                raise ValidationError(
                    _(
                        "The scheduled action '%(name)s' cannot run every %(minutes)s minute(s): "
                        "the lowest interval for a mail cron is %(min)s minutes, and "
                        "%(recommended)s minutes is recommended. Shorter intervals do not send "
                        "mail faster; runs overlap and may time out.",
                        name=cron.name,
                        minutes=minutes,
                        min=MIN_INTERVAL_MINUTES,
                        recommended=RECOMMENDED_INTERVAL_MINUTES,
                    )
                )

    @api.model
    def _mr_trigger(self, xmlid, at=None, once=True):
        """``_trigger(at)`` on the cron ``xmlid`` (now if ``at`` is None), unless a
        pending trigger already covers ``at`` (``once``; ``once=False`` skips that
        lookup where a duplicate trigger is harmless); nothing if the cron is gone.

        Holding back or deferring a batch would otherwise add one identical trigger
        row per mail. A trigger in the minute after ``at`` covers it (Odoo runs
        triggers to the minute); an earlier one does not: the mail is not due yet.
        """
        cron = self.env.ref(xmlid, raise_if_not_found=False)
        if not cron:
            return
        at = at or fields.Datetime.now()
        if not once:
            cron.sudo()._trigger(at)
            return
        self.env["ir.cron.trigger"].flush_model()
        self.env.cr.execute(
            """SELECT 1 FROM ir_cron_trigger
                WHERE cron_id = %s AND call_at >= %s AND call_at < %s LIMIT 1""",
            [cron.id, at, at + timedelta(minutes=1)],
        )
        if not self.env.cr.fetchone():
            cron.sudo()._trigger(at)
