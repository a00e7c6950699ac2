# Copyright 2026 mail_reliability contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Settings > General Settings > Emails: every field this addon adds.

- Email queue interval and retention days. The queue interval is read from
  and written to the "Mail: Email Queue Manager" cron itself (Odoo's 60
  minutes until the admin changes it); the ``ir.cron`` interval guard refuses
  less than 5 minutes. Retention days are stored as system parameters, where
  0 or less is kept as such (it disables the rule), which ``config_parameter``
  integer fields cannot do.
- Queue lanes (``mail_reliability.queue_lanes``): the cron jobs are created and
  removed by ``ir.config_parameter`` when the parameter changes.
- Daily sending limit (quota). Stored by hand for the same reason: 0 means
  "no limit" / "no reserve" there.
- Email health: the summary of the dashboard and the DNS / DKIM check settings.
"""

import logging

from odoo import _, api, fields, models
from odoo.exceptions import ValidationError

from odoo.addons.base.models.res_partner import _tz_get

from ..tools import provider_limits, quota_window, retention
from ..tools.constants import QUEUE_CRON_XMLID
from ..tools.health_rules import ERROR, WARNING
from .ir_cron import MINUTES_PER_UNIT, RECOMMENDED_INTERVAL_MINUTES

_logger = logging.getLogger(__name__)

RETENTION_FIELDS = {
    "mail_reliability_vacuum_sent_days": ("mail_reliability.vacuum_sent_days", 0),
    "mail_reliability_vacuum_cancel_days": ("mail_reliability.vacuum_cancel_days", 30),
    "mail_reliability_vacuum_exception_days": ("mail_reliability.vacuum_exception_days", 90),
}
INTEGER_FIELDS = ("mail_queue_interval_minutes", *RETENTION_FIELDS)
QUOTA_INTEGER_PARAMS = {
    "mr_daily_limit": ("mail_reliability.daily_limit", quota_window.DEFAULT_DAILY_LIMIT),
    "mr_transactional_reserve": ("mail_reliability.transactional_reserve", 20),
}


class ResConfigSettings(models.TransientModel):
    _inherit = "res.config.settings"

    mail_queue_interval_minutes = fields.Integer(
        "Email Queue Interval",
        help="Minutes between two runs of 'Mail: Email Queue Manager'. "
        "Lowest 5 minutes, recommended 15; Odoo's default is 60.",
    )
    # A default, not a compute: the settings form's onchange left a compute at 0.
    mail_queue_interval_recommended = fields.Integer(
        default=RECOMMENDED_INTERVAL_MINUTES, readonly=True
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
    mr_queue_lanes = fields.Integer(
        "Queue Lanes",
        config_parameter="mail_reliability.queue_lanes",
        default=1,
        help="Cron jobs that send the email queue in parallel (1 to 16). Lane 1 is "
        "'Mail: Email Queue Manager'; each further lane is a cron job of its own, which any "
        "cron worker of any Odoo server on this database may run.",
    )
    # --- daily sending limit ---------------------------------------------------------
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
    mr_quota_internal = fields.Integer(
        "To Internal Users Today",
        compute="_compute_mr_quota",
        help="Emails counted today whose recipients were all internal users notified by email",
    )
    mr_quota_saver_count = fields.Integer(
        "Internal Users Notified by Email", compute="_compute_mr_quota"
    )
    mr_quota_server_ids = fields.Many2many(
        "ir.mail_server", string="Outgoing Servers", compute="_compute_mr_quota"
    )
    # --- email health -----------------------------------------------------------------
    mr_dns_nameserver = fields.Char(
        "DNS Resolver",
        config_parameter="mail_reliability.dns_nameserver",
        help="IP address(es) of the DNS server used by the health checks, comma separated. "
        "Empty: the server's own resolver (/etc/resolv.conf).",
    )
    mr_dns_port = fields.Integer(
        "DNS Port", config_parameter="mail_reliability.dns_port", default=53
    )
    mr_dns_timeout = fields.Float(
        "DNS Timeout (s)", config_parameter="mail_reliability.dns_timeout", default=3.0
    )
    mr_dkim_selectors = fields.Char(
        "DKIM Selectors",
        config_parameter="mail_reliability.dkim_selectors",
        help="Selectors your mail provider signs with, comma separated. Optional: common "
        "selectors (google, selector1, s1, k1...) are found without typing them; enter the "
        "ones a provider generates (Amazon SES, Postmark).",
    )
    mr_domain_failure_threshold = fields.Integer(
        "Recurring Failures Threshold",
        config_parameter="mail_reliability.domain_failure_threshold",
        default=5,
        help="A recipient domain with at least this many failed emails in 30 days is reported.",
    )
    mr_log_file = fields.Char(
        "Log File",
        compute="_compute_mr_log_file",
        help="Odoo's own log file (logfile of the server configuration), searched with its "
        "rotated copies by the log search and the support bundle. No other file is read.",
    )
    mr_health_summary = fields.Char("Email Health", compute="_compute_mr_health_summary")

    @api.depends("mr_daily_limit")
    def _compute_mr_quota(self):
        Usage = self.env["mail.quota.usage"].sudo()
        servers = self.env["ir.mail_server"].sudo().search([])
        Users = self.env["res.users"].sudo()
        saver_count = Users.search_count(Users._mr_email_notified_internal_domain())
        for settings in self:
            # the same figures as the Email Health quota card
            figures = Usage._today_figures()
            used, limit = figures["used"], figures["limit"]
            settings.mr_quota_used = used
            settings.mr_quota_limit = limit
            settings.mr_quota_percent = 100.0 * used / limit if limit else 0.0
            settings.mr_quota_reset = figures["reset"]
            settings.mr_quota_internal = figures["internal"]
            settings.mr_quota_saver_count = saver_count
            settings.mr_quota_server_ids = servers

    def _compute_mr_log_file(self):
        for settings in self:
            settings.mr_log_file = self.env["mail.log.search"]._log_file_shown()

    @api.depends("company_id")
    def _compute_mr_health_summary(self):
        checks = self.env["mail.health.check"].sudo().search([])
        ran = checks.filtered("last_run")
        if not ran:
            summary = _("Never checked")
        else:
            errors = len(ran.filtered(lambda c: c.status == ERROR))
            warnings = len(ran.filtered(lambda c: c.status == WARNING))
            summary = _(
                "%(errors)s error(s), %(warnings)s warning(s), checked %(when)s UTC",
                errors=errors,
                warnings=warnings,
                when=fields.Datetime.to_string(max(ran.mapped("last_run"))),
            )
        for settings in self:
            settings.mr_health_summary = summary

    @api.onchange("mr_daily_limit_preset")
    def _onchange_mr_daily_limit_preset(self):
        preset = provider_limits.PRESETS_BY_CODE.get(self.mr_daily_limit_preset)
        if preset:
            self.mr_daily_limit = preset.daily_limit

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
        params = self.env["ir.config_parameter"].sudo()
        for name, (key, default) in QUOTA_INTEGER_PARAMS.items():
            try:
                res[name] = int(params.get_param(key, default))
            except (TypeError, ValueError):
                res[name] = default
        cron = self._mr_queue_cron()
        if cron:
            cron = cron.sudo()
            res["mail_queue_interval_minutes"] = cron.interval_number * MINUTES_PER_UNIT.get(
                cron.interval_type, 1
            )
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
        params = self.env["ir.config_parameter"].sudo()
        for name, (key, _default) in QUOTA_INTEGER_PARAMS.items():
            value = str(self[name])
            if params.get_param(key) != value:
                params.set_param(key, value)  # validated by ir.config_parameter
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
                self.env["ir.cron"]._mr_sync_queue_lanes()  # the lanes keep lane 1's interval
        for fname, (key, _default) in RETENTION_FIELDS.items():
            value = str(self[fname])
            if params.get_param(key) != value:
                params.set_param(key, value)
        return res

    def action_mr_quota_facts(self):
        return self.env["mail.quota.facts.wizard"].action_open()

    def action_mr_quota_saver(self):
        return self.env["mail.quota.saver.wizard"].action_open()

    def action_mr_open_mail_health(self):
        return self.env["mail.health.check"].action_open_dashboard()
