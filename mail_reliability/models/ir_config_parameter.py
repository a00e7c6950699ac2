# Copyright 2026 mail_reliability contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import _, api, models
from odoo.exceptions import ValidationError

from ..tools import quota_window, retention, retry_policy

PARSERS = {
    "mail_reliability.daily_limit": quota_window.parse_limit,
    "mail_reliability.quota_timezone": quota_window.parse_timezone,
    "mail_reliability.transactional_reserve": quota_window.parse_reserve,
    "mail_reliability.retry_delays": retry_policy.parse_delays,
    "mail_reliability.retry_max_hours": retry_policy.parse_max_hours,
    "mail_reliability.vacuum_sent_days": retention.parse_days,
    "mail_reliability.vacuum_cancel_days": retention.parse_days,
    "mail_reliability.vacuum_exception_days": retention.parse_days,
    "mail_reliability.vacuum_quota_usage_days": retention.parse_days,
    "mail_reliability.vacuum_rejection_days": retention.parse_days,
}


class IrConfigParameter(models.Model):
    _inherit = "ir.config_parameter"

    @api.constrains("key", "value")
    def _check_mail_reliability_value(self):
        for param in self:
            parser = PARSERS.get(param.key)
            if not parser:
                continue
            try:
                parser(param.value)
            except ValueError as exc:
                raise ValidationError(
                    _("Invalid value for %(key)s: %(error)s", key=param.key, error=exc)
                ) from exc
