# Copyright 2026 mail_reliability contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Settings > General Settings > Emails: queue interval and retention days.

The queue interval is read from and written to the "Mail: Email Queue
Manager" cron itself (Odoo's 60 minutes until the admin changes it); the
``ir.cron`` interval guard refuses less than 5 minutes. Retention days are
stored as system parameters, where 0 or less is kept as such (it disables the
rule), which ``config_parameter`` integer fields cannot do.
"""

import logging

from odoo import _, api, fields, models
from odoo.exceptions import ValidationError

from ..tools import retention
from .ir_cron import MINUTES_PER_UNIT, RECOMMENDED_INTERVAL_MINUTES

_logger = logging.getLogger(__name__)

QUEUE_CRON_XMLID = "mail.ir_cron_mail_scheduler_action"
RETENTION_FIELDS = {
    "mail_reliability_vacuum_sent_days": ("mail_reliability.vacuum_sent_days", 0),
    "mail_reliability_vacuum_cancel_days": ("mail_reliability.vacuum_cancel_days", 30),
    "mail_reliability_vacuum_exception_days": ("mail_reliability.vacuum_exception_days", 90),
}
INTEGER_FIELDS = ("mail_queue_interval_minutes", *RETENTION_FIELDS)


class ResConfigSettings(models.TransientModel):
    _inherit = "res.config.settings"

    mail_queue_interval_minutes = fields.Integer(
        "Email Queue Interval",
        help="Minutes between two runs of 'Mail: Email Queue Manager'. "
        "Lowest 5 minutes, recommended 15; Odoo's default is 60.",
    )
    mail_queue_interval_recommended = fields.Integer(
        compute="_compute_mail_queue_interval_recommended"
    )
    mail_reliability_vacuum_sent_days = fields.Integer(
        "Keep Sent Emails (days)",
        help="Sent emails kept on purpose (template with 'Auto Delete' off, mailing with "
        "'Keep Archives') are removed after this many days. 0, the default, keeps them "
        "forever. The chatter message is always kept.",
    )
    mail_reliability_vacuum_cancel_days = fields.Integer(
        "Keep Cancelled Emails (days)",
        help="Cancelled emails are removed after this many days. 0 keeps them forever.",
    )
    mail_reliability_vacuum_exception_days = fields.Integer(
        "Keep Failed Emails (days)",
        help="Emails whose delivery failed are removed after this many days. "
        "0 keeps them forever.",
    )

    def _compute_mail_queue_interval_recommended(self):
        self.mail_queue_interval_recommended = RECOMMENDED_INTERVAL_MINUTES

    @api.model_create_multi
    def create(self, vals_list):
        for vals in vals_list:
            for fname in INTEGER_FIELDS:
                if fname in vals:
                    vals[fname] = self._mr_whole_number(fname, vals[fname])
        return super().create(vals_list)

    def write(self, vals):
        for fname in INTEGER_FIELDS:
            if fname in vals:
                vals[fname] = self._mr_whole_number(fname, vals[fname])
        return super().write(vals)

    @api.model
    def _mr_whole_number(self, fname, value):
        if value is False or value is None:
            return 0
        try:
            return retention.parse_days(value)
        except ValueError as exc:
            raise ValidationError(
                _(
                    "%(setting)s must be a whole number, not %(value)s.",
                    setting=self._fields[fname].string,
                    value=repr(value),
                )
            ) from exc

    @api.model
    def _mr_queue_cron(self):
        return self.env.ref(QUEUE_CRON_XMLID, raise_if_not_found=False)

    @api.model
    def get_values(self):
        res = super().get_values()
        cron = self._mr_queue_cron()
        if cron:
            cron = cron.sudo()
            res["mail_queue_interval_minutes"] = cron.interval_number * MINUTES_PER_UNIT.get(
                cron.interval_type, 1
            )
        params = self.env["ir.config_parameter"].sudo()
        for fname, (key, default) in RETENTION_FIELDS.items():
            value = params.get_param(key)
            try:
                res[fname] = default if value in (None, False, "") else retention.parse_days(value)
            except ValueError:
                _logger.warning("%s: invalid value %r shown as 0 (disabled)", key, value)
                res[fname] = 0
        return res

    def set_values(self):
        res = super().set_values()
        cron = self._mr_queue_cron()
        if cron:
            cron = cron.sudo()
            minutes = self.mail_queue_interval_minutes
            current = cron.interval_number * MINUTES_PER_UNIT.get(cron.interval_type, 1)
            if minutes != current:
                if minutes > 0 and minutes % 60 == 0:
                    cron.write({"interval_number": minutes // 60, "interval_type": "hours"})
                else:
                    cron.write({"interval_number": minutes, "interval_type": "minutes"})
        params = self.env["ir.config_parameter"].sudo()
        for fname, (key, _default) in RETENTION_FIELDS.items():
            value = str(self[fname])
            if params.get_param(key) != value:
                params.set_param(key, value)
        return res
