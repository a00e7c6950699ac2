# Copyright 2026 mail_reliability contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Settings > Emails: the email health summary and the DNS / DKIM check settings."""

from odoo import _, api, fields, models


# pylint: disable=consider-merging-classes-inherited
class ResConfigSettings(models.TransientModel):
    _inherit = "res.config.settings"

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
        help="Selectors your mail provider signs with, comma separated (e.g. google, s1, s2).",
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
            errors = len(ran.filtered(lambda c: c.status == "error"))
            warnings = len(ran.filtered(lambda c: c.status == "warning"))
            summary = _(
                "%(errors)s error(s), %(warnings)s warning(s), checked %(when)s UTC",
                errors=errors,
                warnings=warnings,
                when=fields.Datetime.to_string(max(ran.mapped("last_run"))),
            )
        for settings in self:
            settings.mr_health_summary = summary

    def action_mr_open_mail_health(self):
        return self.env["mail.health.check"].action_open_dashboard()
