# Copyright 2026 mail_reliability contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
from odoo import api, fields, models

from odoo.addons.base.models.res_partner import _tz_get

from ..tools import provider_limits, quota_window

QUOTA_INTEGER_PARAMS = {
    "mr_daily_limit": ("mail_reliability.daily_limit", quota_window.DEFAULT_DAILY_LIMIT),
    "mr_transactional_reserve": ("mail_reliability.transactional_reserve", 20),
}


# pylint: disable=consider-merging-classes-inherited
class ResConfigSettings(models.TransientModel):
    """Daily limit settings. Stored by hand: ``config_parameter`` integer fields
    delete a parameter saved as 0, and 0 means "no limit" / "no reserve" here."""

    _inherit = "res.config.settings"

    mr_daily_limit = fields.Integer(
        "Daily Sending Limit",
        help="Emails the database may hand to SMTP servers per day (0: no limit, the default).",
    )
    mr_daily_limit_preset = fields.Selection(
        [(preset.code, preset.label) for preset in provider_limits.PRESETS],
        "Provider Preset",
        help="Fills in the daily limit your provider documents (see the module's "
        "configuration notes for the sources). Check your own plan: providers change them.",
    )
    mr_quota_timezone = fields.Selection(
        _tz_get,
        "Quota Day Timezone",
        config_parameter="mail_reliability.quota_timezone",
        default="UTC",
    )
    mr_transactional_reserve = fields.Integer(
        "Reserve for Person-to-Person Mail (%)",
        help="Mass mailing stops when less than this share of the daily limit is left.",
    )
    mr_quota_used = fields.Integer("Sent Today", compute="_compute_mr_quota")
    mr_quota_limit = fields.Integer("Limit Today", compute="_compute_mr_quota")
    mr_quota_percent = fields.Float(compute="_compute_mr_quota")
    mr_quota_reset = fields.Datetime("Resets At", compute="_compute_mr_quota")
    mr_quota_server_ids = fields.Many2many(
        "ir.mail_server", string="Outgoing Servers", compute="_compute_mr_quota"
    )

    @api.depends("mr_daily_limit")
    def _compute_mr_quota(self):
        Usage = self.env["mail.quota.usage"].sudo()
        servers = self.env["ir.mail_server"].sudo().search([])
        for settings in self:
            used, limit, reset = Usage._usage_today()
            settings.mr_quota_used = used
            settings.mr_quota_limit = limit
            settings.mr_quota_percent = 100.0 * used / limit if limit else 0.0
            settings.mr_quota_reset = reset
            settings.mr_quota_server_ids = servers

    @api.onchange("mr_daily_limit_preset")
    def _onchange_mr_daily_limit_preset(self):
        preset = provider_limits.PRESETS_BY_CODE.get(self.mr_daily_limit_preset)
        if preset:
            self.mr_daily_limit = preset.daily_limit

    @api.model
    def get_values(self):
        res = super().get_values()
        params = self.env["ir.config_parameter"].sudo()
        for name, (key, default) in QUOTA_INTEGER_PARAMS.items():
            try:
                res[name] = int(params.get_param(key, default))
            except (TypeError, ValueError):
                res[name] = default
        return res

    def set_values(self):
        res = super().set_values()
        params = self.env["ir.config_parameter"].sudo()
        for name, (key, _default) in QUOTA_INTEGER_PARAMS.items():
            value = str(self[name])
            if params.get_param(key) != value:
                params.set_param(key, value)  # validated by ir.config_parameter
        return res

    def action_mr_quota_facts(self):
        return self.env["mail.quota.facts.wizard"].action_open()
