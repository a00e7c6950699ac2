# Copyright 2026 mail_reliability contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import _, api, models
from odoo.exceptions import ValidationError

from ..tools import queue_lanes, quota_window, redaction, retention, retry_policy
from ..tools.i18n import error_text

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
    queue_lanes.LANES_PARAM: queue_lanes.parse_lanes,
    queue_lanes.CLAIM_SECONDS_PARAM: queue_lanes.parse_claim_seconds,
}


class IrConfigParameter(models.Model):
    _inherit = "ir.config_parameter"

    @api.model_create_multi
    def create(self, vals_list):
        params = super().create(vals_list)
        if params._mr_is_queue_lanes():
            self.env["ir.cron"]._mr_sync_queue_lanes()
        return params

    def write(self, vals):
        lanes = self._mr_is_queue_lanes()
        res = super().write(vals)
        if lanes or self._mr_is_queue_lanes():
            self.env["ir.cron"]._mr_sync_queue_lanes()
        return res

    def unlink(self):
        lanes = self._mr_is_queue_lanes()
        res = super().unlink()
        if lanes:
            self.env["ir.cron"]._mr_sync_queue_lanes()  # back to one lane
        return res

    def _mr_is_queue_lanes(self):
        """The queue lanes' cron jobs follow ``mail_reliability.queue_lanes``."""
        return any(param.key == queue_lanes.LANES_PARAM for param in self)

    def export_data(self, fields_to_export):
        """The value of a parameter whose key names a secret (secret, token, key,
        pass) is exported as ``[redacted]``, as the mail servers' passwords are."""
        result = super().export_data(fields_to_export)
        columns = [i for i, path in enumerate(fields_to_export) if path in ("value", "value/id")]
        rows = result.get("datas", [])
        if not columns:
            return result
        # one row per parameter (no x2many to expand); if that ever changes, redact all
        aligned = len(rows) == len(self)
        for position, row in enumerate(rows):
            if aligned and not redaction.is_secret_key(self[position].key):
                continue
            for index in columns:
                if index < len(row) and row[index]:
                    row[index] = redaction.REDACTED
        return result

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
                    _(
                        "Invalid value for %(key)s: %(error)s",
                        key=param.key,
                        error=error_text(exc, self.env.lang),
                    )
                ) from exc
