# Copyright 2026 mail_reliability contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Email health dashboard: one row per check, each a small ``_check_<code>`` method.

Each check returns a :class:`~..tools.dns_checks.Finding` (status, one-line
finding, fix, details).  A check that cannot run (DNS down, a model not
installed) says so as a warning / "not available"; it never raises to the
user and never stops the other checks or the daily cron.
"""

import logging
import time
from collections import Counter
from datetime import timedelta

from markupsafe import Markup

from odoo import _, api, fields, models, tools
from odoo.exceptions import UserError

from ..tools import delivery_stats, dns_checks, health_rules, provider_limits
from ..tools.constants import QUEUE_CRON_XMLID
from ..tools.dns_checks import DnsUnavailable, Finding
from ..tools.health_rules import ERROR, NOT_AVAILABLE, OK, STATUS_SELECTION, WARNING
from .ir_cron import MINUTES_PER_UNIT

_logger = logging.getLogger(__name__)

CHECKS = (
    # code, sequence, label (the name shown: a selection label, translated when read)
    ("admin_email", 10, "Admin email address"),
    ("identity", 20, "Sending identity"),
    ("spf", 30, "SPF"),
    ("dkim", 40, "DKIM"),
    ("dmarc", 50, "DMARC"),
    ("bulk_sender", 55, "Bulk sender rules (Gmail, Yahoo)"),
    ("queue", 60, "Email queue"),
    ("quota", 70, "Daily quota"),
    ("bounce_rate", 80, "Bounce rate"),
    ("domain_failures", 90, "Recurring failures by domain"),
)
DEFAULT_DOMAIN_THRESHOLD = 5
MAX_SENDING_DOMAINS = 10
DEFAULT_BOUNCE_MIN_VOLUME = 100  # recipients: below that a rate says nothing
BULK_SENDER_DAYS = 30  # days of delivery statistics read for the bulk-sender volume
PARAM = "mail_reliability.%s"


def _shorten(text, size):
    """``text`` cut to ``size`` characters, an ellipsis saying it was cut."""
    return text if len(text) <= size else text[: size - 1] + "\u2026"


class MailHealthCheck(models.Model):
    _name = "mail.health.check"
    _description = "Email Health Check"
    _order = "sequence, id"

    code = fields.Selection([(c, n) for c, _s, n in CHECKS], required=True, readonly=True)
    # The name is the label of the code, in the reader's language (selection labels
    # are translated terms): nothing English is stored, rows of any age read the same.
    name = fields.Char(compute="_compute_name", search="_search_name")
    sequence = fields.Integer(default=10)
    status = fields.Selection(STATUS_SELECTION, readonly=True, copy=False)
    previous_status = fields.Selection(STATUS_SELECTION, readonly=True, copy=False)
    finding = fields.Char(readonly=True)
    fix = fields.Text(readonly=True)
    details = fields.Text(readonly=True)
    last_run = fields.Datetime(readonly=True)
    has_fix_action = fields.Boolean(compute="_compute_has_fix_action")
    # The quota card: today's figures read when shown (as in Settings), and the quota saver.
    quota_today = fields.Char("Today", compute="_compute_quota_today")
    quota_saver_count = fields.Integer(compute="_compute_quota_today")
    quota_saver_label = fields.Char(compute="_compute_quota_today")

    _sql_constraints = [("code_uniq", "unique(code)", "There is one row per check.")]

    @api.depends("code")
    @api.depends_context("lang")
    def _compute_name(self):
        labels = dict(self._fields["code"]._description_selection(self.env))
        for check in self:
            check.name = labels.get(check.code, check.code or "")

    def _search_name(self, operator, value):
        """Search the translated names: the codes whose label matches."""
        labels = dict(self._fields["code"]._description_selection(self.env))
        values = [value] if isinstance(value, str) else list(value or [])
        if operator in ("ilike", "not ilike"):
            needles = [str(v).lower() for v in values]
            codes = [c for c, label in labels.items() if any(n in label.lower() for n in needles)]
        elif operator in ("=", "!=", "in", "not in"):
            codes = [c for c, label in labels.items() if label in values]
        else:
            raise UserError(
                self.env._("Unsupported search on the check name: %(operator)s", operator=operator)
            )
        negative = operator in ("not ilike", "!=", "not in")
        return [("code", "not in" if negative else "in", codes)]

    def _compute_has_fix_action(self):
        for check in self:
            check.has_fix_action = check.code in (
                "admin_email",
                "identity",
                "queue",
                "domain_failures",
                "spf",
                "dkim",
            )

    # ------------------------------------------------------------------
    # Actions
    # ------------------------------------------------------------------
    @api.model
    def action_run_checks(self):
        self.check_access("write")  # the checks read with sudo(): the access rights decide
        self._action_run_checks()
        return {
            "type": "ir.actions.client",
            "tag": "soft_reload",
        }

    @api.model
    def action_open_dashboard(self):
        self.check_access("write")  # creates the rows with sudo()
        self._ensure_rows()
        return self.env["ir.actions.act_window"]._for_xml_id(
            "mail_reliability.mail_health_check_action"
        )

    @api.model
    def _ensure_rows(self):
        existing = set(self.sudo().search([]).mapped("code"))
        missing = [
            {"code": code, "sequence": sequence}
            for code, sequence, _label in CHECKS
            if code not in existing
        ]
        if missing:
            self.sudo().create(missing)
        return self.sudo().search([])

    @api.model
    def _action_run_checks(self):
        checks = self._ensure_rows()
        context = self._gather_context()
        now = fields.Datetime.now()
        for check in checks:
            finding = check._run_one(context)
            check.write(
                {
                    "previous_status": check.status,
                    "status": finding.status,
                    "finding": _shorten(finding.finding or "", 500),
                    "fix": finding.fix or False,
                    "details": "\n".join(finding.details) or False,
                    "last_run": now,
                }
            )
        return checks

    def _run_one(self, context):
        """Run one check in its own savepoint: a check that fails (even on a database
        error, which aborts the transaction) is rolled back alone and shown as an
        error finding naming the exception; the other checks still run."""
        self.ensure_one()
        method = getattr(self, f"_check_{self.code}")
        try:
            with self.env.cr.savepoint():
                return method(context)
        except DnsUnavailable as exc:
            return Finding(
                WARNING,
                _("Could not check: %(error)s", error=exc.text_in(self.env.lang)),
                _("Check the DNS resolver settings (Settings > Emails > Email Health)."),
            )
        except Exception as exc:  # one check never breaks the others
            _logger.exception("Email health check %s failed", self.code)
            message = str(exc).strip().splitlines()[0][:300] if str(exc).strip() else ""
            return Finding(
                ERROR,
                _(
                    "The check failed: %(exception)s%(message)s",
                    exception=type(exc).__name__,
                    message=": " + message if message else "",
                ),
                _(
                    "The server log holds the details (search it for 'Email health check "
                    "%(code)s failed').",
                    code=self.code,
                ),
            )

    def action_open_fix(self):
        self.ensure_one()
        self.check_access("write")  # reads the failures with sudo()
        return self._action_open_fix()

    def _action_open_fix(self):
        code = self.code
        if code == "admin_email":
            admin = self.env.ref("base.user_admin")
            if self.env.user == admin:
                # the Preferences dialog, as from the user menu
                return {**admin.action_get(), "res_id": admin.id}
            return {
                "type": "ir.actions.act_window",
                "name": _("Administrator preferences"),
                "res_model": "res.users",
                "res_id": admin.id,
                "views": [(self.env.ref("base.view_users_form").id, "form")],
                "target": "current",
            }
        if code in ("identity", "spf", "dkim"):
            return self.env["ir.actions.act_window"]._for_xml_id("base.action_ir_mail_server_list")
        if code == "queue":
            cron = self.env.ref(QUEUE_CRON_XMLID)
            return {
                "type": "ir.actions.act_window",
                "res_model": "ir.cron",
                "res_id": cron.id,
                "views": [(False, "form")],
            }
        if code == "domain_failures":
            domains = self._flagged_domains()
            return {
                "type": "ir.actions.act_window",
                "name": _("Failed emails by domain"),
                "res_model": "mail.mail",
                "views": [(False, "list"), (False, "form")],
                "domain": [
                    ("state", "=", "exception"),
                    ("recipient_domain", "in", domains),
                ],
                "context": {"group_by": "recipient_domain"},
            }
        return False

    # ------------------------------------------------------------------
    # Cron
    # ------------------------------------------------------------------
    @api.model
    def _cron_run_checks(self):
        checks = self._action_run_checks()
        turned_red = checks.filtered(lambda c: c.status == ERROR and c.previous_status != ERROR)
        if turned_red:
            self._notify_admins(turned_red)
        return turned_red

    @api.model
    def _notify_admins(self, checks):
        admins = self.env.ref("base.group_system").users.filtered(
            lambda u: u.active and not u.share and u.partner_id.email
        )
        partners = admins.partner_id
        if not partners:
            return False
        items = Markup("").join(
            Markup("<li><b>%s</b>: %s<br/><i>%s</i></li>")
            % (check.name, check.finding or "", check.fix or "")
            for check in checks
        )
        body = Markup("<p>%s</p><ul>%s</ul>") % (
            _("These email health checks turned red:"),
            items,
        )
        self.env["mail.thread"].sudo().message_notify(
            partner_ids=partners.ids,
            subject=_("Email health: %(count)s check(s) failing", count=len(checks)),
            body=body,
            author_id=self.env.ref("base.partner_root").id,
        )
        return True

    # ------------------------------------------------------------------
    # Inputs
    # ------------------------------------------------------------------
    @api.model
    def _param(self, key, default=None):
        return self.env["ir.config_parameter"].sudo().get_param(PARAM % key, default)

    @api.model
    def _resolver(self):
        nameservers = [
            ns.strip() for ns in (self._param("dns_nameserver") or "").split(",") if ns.strip()
        ]
        try:
            port = int(self._param("dns_port") or 53)
            timeout = float(self._param("dns_timeout") or dns_checks.DEFAULT_TIMEOUT)
        except ValueError as exc:
            raise DnsUnavailable(_("invalid DNS port or timeout setting")) from exc
        return dns_checks.Resolver(nameservers or None, port=port, timeout=timeout)

    @api.model
    def _alias_domain(self):
        return self.env.company.alias_domain_id or self.env["mail.alias.domain"].sudo().search(
            [], limit=1
        )

    @api.model
    def _recent_from_addresses(self, days=30):
        """Normalized From addresses of mail sent (or queued) in the last ``days``."""
        since = fields.Datetime.now() - timedelta(days=days)
        self.env["mail.mail"].flush_model()
        self.env["mail.notification"].flush_model()
        self.env.cr.execute(
            """
            SELECT DISTINCT m.email_from
              FROM mail_message m
             WHERE m.create_date >= %(since)s
               AND m.email_from IS NOT NULL
               AND (EXISTS (SELECT 1 FROM mail_mail mm WHERE mm.mail_message_id = m.id)
                    OR EXISTS (SELECT 1 FROM mail_notification n
                                WHERE n.mail_message_id = m.id
                                  AND n.notification_type = 'email'))
             LIMIT 1000
            """,
            {"since": since},
        )
        emails = set()
        for (email_from,) in self.env.cr.fetchall():
            emails.update(tools.email_normalize_all(email_from))
        return sorted(emails)

    @api.model
    def _gather_context(self):
        servers = self.env["ir.mail_server"].sudo().search([], order="sequence, id")
        alias_domain = self._alias_domain()
        from_addresses = self._recent_from_addresses()
        sending_domains = []
        if alias_domain:
            sending_domains.append(alias_domain.name.lower())
        for email in from_addresses:
            domain = email.rpartition("@")[2]
            if domain and domain not in sending_domains:
                sending_domains.append(domain)
        return {
            "servers": servers,
            "alias_domain": alias_domain,
            "from_addresses": from_addresses,
            "sending_domains": sending_domains[:MAX_SENDING_DOMAINS],
            "resolver": None,
        }

    @api.model
    def _context_resolver(self, context):
        if context.get("resolver") is None:
            context["resolver"] = self._resolver()
        return context["resolver"]

    # ------------------------------------------------------------------
    # The checks
    # ------------------------------------------------------------------
    def _check_admin_email(self, context):
        admin = self.env.ref("base.user_admin", raise_if_not_found=False)
        if not admin:
            return Finding(NOT_AVAILABLE, _("The admin user was deleted."))
        email = admin.sudo().email
        if not health_rules.is_placeholder_email(email):
            return Finding(OK, _("The admin user's email is %(email)s.", email=email))
        alias = context["alias_domain"]
        suggestion = health_rules.suggested_admin_email(alias.name if alias else False)
        return Finding(
            ERROR,
            _(
                "The admin user's email is a placeholder (%(email)s).",
                email=email or _("empty"),
            ),
            _(
                "Open the admin's preferences and set a real address, for example %(suggestion)s;"
                " mail sent as the admin otherwise fails or is flagged as spam.",
                suggestion=suggestion or "admin@<your domain>",
            ),
        )

    def _check_identity(self, context):
        problems, details, statuses = [], [], []
        alias = context["alias_domain"]
        if not alias:
            statuses.append(ERROR)
            problems.append(_("no alias domain is set"))
        else:
            details.append(
                _(
                    "Alias domain %(domain)s: default From %(from)s, catchall %(catchall)s, "
                    "bounce %(bounce)s",
                    domain=alias.name,
                    **{"from": alias.default_from_email or "-"},
                    catchall=alias.catchall_email or "-",
                    bounce=alias.bounce_email or "-",
                )
            )
            if not alias.default_from:
                statuses.append(WARNING)
                problems.append(_("no default From address"))
            if not alias.catchall_alias:
                statuses.append(ERROR)
                problems.append(_("no catchall alias: replies cannot be routed"))
            if not alias.bounce_alias:
                statuses.append(ERROR)
                problems.append(_("no bounce alias: bounces are not detected"))
        servers = context["servers"]
        if not servers and not tools.config.get("smtp_server"):
            statuses.append(ERROR)
            problems.append(_("no outgoing mail server"))
        from_filters = [s.from_filter for s in servers]
        if any(not f for f in from_filters) or not servers:
            uncovered = []
        else:
            uncovered = health_rules.uncovered_from_addresses(
                from_filters, context["from_addresses"]
            )
        if uncovered:
            statuses.append(WARNING)
            problems.append(
                _(
                    "no outgoing server's From filter covers %(emails)s (used in the last 30 "
                    "days): Odoo rewrites them to the notification address",
                    emails=", ".join(uncovered[:5]) + ("..." if len(uncovered) > 5 else ""),
                )
            )
        for server in servers:
            details.append(
                _(
                    "Server %(name)s (%(host)s): From filter %(filter)s",
                    name=server.name,
                    host=server.smtp_host,
                    filter=server.from_filter or _("(any)"),
                )
            )
        details.append(_("From addresses used in 30 days: %(n)s", n=len(context["from_addresses"])))
        status = health_rules.worst(statuses)
        if status == OK:
            return Finding(
                OK,
                _(
                    "Alias domain, default From, catchall and bounce are set; From filters cover "
                    "the addresses in use."
                ),
                details=details,
            )
        return Finding(
            status,
            _("Sending identity: %(problems)s.", problems="; ".join(problems)),
            _(
                "Settings > Emails: set the alias domain, its default From, catchall and bounce "
                "aliases; on the outgoing servers, add the domains in use to the From filter."
            ),
            details=details,
        )

    def _dns_check(self, context, per_domain):
        domains = context["sending_domains"]
        if not domains:
            return Finding(
                WARNING,
                _("No sending domain: set an alias domain first."),
                _("Settings > Emails > Alias Domain."),
            )
        findings = []
        for domain in domains:
            try:
                findings.append(per_domain(domain))
            except DnsUnavailable as exc:
                findings.append(
                    Finding(
                        WARNING,
                        _(
                            "%(domain)s: could not check (%(error)s)",
                            domain=domain,
                            error=exc.text_in(self.env.lang),
                        ),
                        _("Check the DNS resolver settings (Settings > Emails > Email Health)."),
                    )
                )
        status = health_rules.worst([f.status for f in findings])
        shown = [f for f in findings if f.status == status]
        details = []
        for f in findings:
            details.append(f"[{f.status}] {f.finding}")
            details += [f"    {d}" for d in f.details]
        return Finding(
            status,
            " ".join(f.finding for f in shown),
            "\n".join(dict.fromkeys(f.fix for f in shown if f.fix)),
            details=details,
        )

    def _server_hosts(self, context):
        hosts = {s.name: s.smtp_host for s in context["servers"] if s.smtp_host}
        if not hosts and tools.config.get("smtp_server"):
            hosts["odoo-bin --smtp"] = tools.config["smtp_server"]
        return hosts

    def _check_spf(self, context):
        resolver = self._context_resolver(context)
        hosts = self._server_hosts(context)
        lang = self.env.lang
        return self._dns_check(
            context, lambda domain: dns_checks.spf_finding(resolver, domain, hosts, lang=lang)
        )

    @api.model
    def _dkim_selectors(self):
        """The DKIM selectors the admin entered (Settings > Emails > Email Health)."""
        return [s.strip() for s in (self._param("dkim_selectors") or "").split(",") if s.strip()]

    def _check_dkim(self, context):
        """The configured selectors, and the common ones (``COMMON_DKIM_SELECTORS``)
        found without typing, within ``DKIM_DISCOVERY_BUDGET`` seconds for all the
        sending domains."""
        resolver = self._context_resolver(context)
        selectors = self._dkim_selectors()
        deadline = time.monotonic() + dns_checks.DKIM_DISCOVERY_BUDGET
        lang = self.env.lang
        return self._dns_check(
            context,
            lambda domain: dns_checks.dkim_finding(
                resolver, domain, selectors, deadline=deadline, lang=lang
            ),
        )

    def _check_dmarc(self, context):
        resolver = self._context_resolver(context)
        lang = self.env.lang
        return self._dns_check(
            context, lambda domain: dns_checks.dmarc_finding(resolver, domain, lang=lang)
        )

    def _check_bulk_sender(self, context):
        """The Gmail/Yahoo 2024 rules for bulk senders, for this database's volume.

        Bulk: at least ``bulk_sender_daily_volume`` (5,000) emails accepted for
        Gmail addresses on one day of the last ``BULK_SENDER_DAYS`` days
        (delivery statistics).  Rules: SPF, DKIM, DMARC present and aligned with
        the From domain (each sending domain), one-click unsubscribe on campaign
        mail.  OK when all hold; a failed rule is an error for a bulk sender, a
        warning below the volume."""
        threshold = self._int_param("bulk_sender_daily_volume", dns_checks.BULK_SENDER_DAILY_VOLUME)
        peak_day, peak = self._bulk_sender_peak(BULK_SENDER_DAYS)
        bulk = bool(threshold) and peak >= threshold
        volume = _(
            "Peak of %(peak)s emails a day to Gmail addresses in the last %(days)s days; "
            "Gmail counts a bulk sender from %(threshold)s a day.",
            peak=peak,
            days=BULK_SENDER_DAYS,
            threshold=threshold,
        )
        failed, unknown, details = [], [], []
        if peak_day:
            details.append(_("Busiest day: %(day)s (%(peak)s)", day=peak_day, peak=peak))
        domains = context["sending_domains"]
        if not domains:
            unknown.append(_("no sending domain: set an alias domain first"))
        else:
            resolver = self._context_resolver(context)
            hosts = self._server_hosts(context)
            selectors = self._dkim_selectors()
            deadline = time.monotonic() + dns_checks.DKIM_DISCOVERY_BUDGET
            lang = self.env.lang
            for domain in domains:
                envelope = self._envelope_domain(context, domain)
                try:
                    rules, lines = dns_checks.bulk_sender_rules(
                        resolver, domain, envelope, hosts, selectors, deadline, lang=lang
                    )
                except DnsUnavailable as exc:
                    unknown.append(
                        _(
                            "%(domain)s: could not check (%(error)s)",
                            domain=domain,
                            error=exc.text_in(lang),
                        )
                    )
                    continue
                details.append(
                    _(
                        "%(domain)s (envelope sender at %(envelope)s):",
                        domain=domain,
                        envelope=envelope,
                    )
                )
                for rule in rules:
                    details.append(f"    [{'ok' if rule.passed else 'X'}] {rule.text}")
                    if rule.passed is False:
                        failed.append(f"{domain}: {rule.text}")
                details += [f"        {line}" for line in lines]
        passed, text = self._bulk_sender_unsubscribe()
        details.append(f"[{'ok' if passed else ('n/a' if passed is None else 'X')}] {text}")
        if passed is False:
            failed.append(text)
        fix = _(
            "Gmail and Yahoo require from bulk senders: SPF and DKIM for the sending domain, "
            "a DMARC record (p=none is enough) whose From domain is aligned with the SPF "
            "envelope domain or the DKIM domain, one-click unsubscribe (RFC 8058) on "
            "marketing mail, and a spam complaint rate below 0.3%%. Publish the missing DNS "
            "records at your DNS host (the SPF, DKIM and DMARC rows above say which), and "
            "serve Odoo over https (web.base.url) for the unsubscribe link. See "
            "https://support.google.com/a/answer/81126."
        ).replace("%%", "%")
        if failed:
            return Finding(
                ERROR if bulk else WARNING,
                " ".join(
                    [
                        volume,  # first: the finding is cut at 500 characters
                        _("Bulk sender rules not met: %(rules)s.", rules="; ".join(failed)),
                    ]
                ),
                fix,
                details=details,
            )
        if unknown:
            return Finding(
                WARNING,
                " ".join([volume, _("Could not check: %(what)s.", what="; ".join(unknown))]),
                _("Check the DNS resolver settings (Settings > Emails > Email Health)."),
                details=details,
            )
        return Finding(
            OK,
            " ".join(
                [
                    _(
                        "SPF, DKIM and aligned DMARC for %(domains)s; %(unsubscribe)s.",
                        domains=", ".join(domains),
                        unsubscribe=text,
                    ),
                    volume,
                ]
            ),
            details=details,
        )

    @api.model
    def _bulk_sender_peak(self, days):
        """``(day, count)``: the most emails the relays accepted for Gmail addresses
        on one day of the last ``days`` days (delivery statistics), ``(False, 0)``
        when none."""
        since = fields.Date.today() - timedelta(days=days - 1)
        groups = (
            self.env["mail.delivery.stats"]
            .sudo()
            ._read_group(
                [("date", ">=", since), ("recipient_domain", "in", dns_checks.GMAIL_DOMAINS)],
                ["date:day"],
                ["sent:sum"],
            )
        )
        return max(
            ((day, sent or 0) for day, sent in groups), key=lambda g: g[1], default=(False, 0)
        )

    @api.model
    def _envelope_domain(self, context, from_domain):
        """The domain of the envelope sender (Return-Path) of mail from ``from_domain``:
        Odoo's bounce address when the outgoing server's From filter lets it through
        (``ir.mail_server._prepare_email_message``), the From address otherwise."""
        alias = context["alias_domain"]
        bounce = alias.bounce_email if alias else False
        if not bounce:
            return from_domain
        server = context["servers"][:1]
        if server and not server._match_from_filter(bounce, server.from_filter):
            return from_domain
        return bounce.rpartition("@")[2].lower()

    @api.model
    def _bulk_sender_unsubscribe(self):
        """``(passed, text)`` for one-click unsubscribe on campaign mail; ``passed``
        is None when it does not apply. Without Email Marketing there is no campaign
        mail; the Email Marketing bridge answers from the headers stock puts on it."""
        return None, _("One-click unsubscribe: not applicable (Email Marketing is not installed)")

    def _check_queue(self, context):
        now = fields.Datetime.now()
        statuses, problems, details = [], [], []
        cron = self.env.ref(QUEUE_CRON_XMLID, raise_if_not_found=False)
        cron = cron.sudo() if cron else cron
        if not cron or not cron.active:
            statuses.append(ERROR)
            problems.append(_("the Email Queue Manager cron is archived: queued mail never leaves"))
        else:
            minutes = cron.interval_number * MINUTES_PER_UNIT.get(cron.interval_type, 1)
            interval_status = health_rules.queue_interval_status(minutes)
            statuses.append(interval_status)
            details.append(_("Queue cron runs every %(m)s minutes.", m=minutes))
            if interval_status != OK:
                problems.append(
                    _(
                        "the queue cron runs every %(m)s minutes (5 to 60 expected, 15 "
                        "recommended)",
                        m=minutes,
                    )
                )
            late = timedelta(minutes=2 * minutes + 15)
            if not cron.lastcall:
                statuses.append(WARNING)
                problems.append(_("the queue cron never ran"))
            elif cron.lastcall < now - late:
                statuses.append(WARNING)
                problems.append(
                    _(
                        "the queue cron last ran at %(when)s UTC: are the cron workers running?",
                        when=cron.lastcall,
                    )
                )
            else:
                details.append(_("Last run: %(when)s UTC", when=cron.lastcall))
        Mail = self.env["mail.mail"].sudo()
        oldest = Mail.search(
            [
                ("state", "=", "outgoing"),
                "|",
                ("scheduled_date", "=", False),
                ("scheduled_date", "<=", now),
            ],
            order="create_date asc, id asc",
            limit=1,
        )
        if oldest:
            since = max(oldest.scheduled_date or oldest.create_date, oldest.create_date)
            age = now - since
            hours = age.total_seconds() / 3600
            details.append(
                _("Oldest due mail: %(h).1f hours old (id %(id)s)", h=hours, id=oldest.id)
            )
            if hours >= 24:
                statuses.append(ERROR)
                problems.append(_("mail waits in the queue for %(h).0f hours", h=hours))
            elif hours >= 2:
                statuses.append(WARNING)
                problems.append(_("mail waits in the queue for %(h).1f hours", h=hours))
        failed = Mail._read_group([("state", "=", "exception")], ["failure_type"], ["__count"])
        total_failed = sum(count for _ft, count in failed)
        if total_failed:
            labels = dict(Mail._fields["failure_type"]._description_selection(self.env))
            per_type = ", ".join(
                f"{labels.get(ft, ft or _('unknown'))}: {count}"
                for ft, count in sorted(failed, key=lambda r: -r[1])
            )
            details.append(_("Failed mail by type: %(types)s", types=per_type))
            statuses.append(WARNING)
            problems.append(_("%(n)s failed mail (%(types)s)", n=total_failed, types=per_type))
        status = health_rules.worst(statuses)
        if status == OK:
            return Finding(
                OK, _("The queue cron is active and on time; no failed mail."), details=details
            )
        return Finding(
            status,
            _("Queue: %(problems)s.", problems="; ".join(problems)),
            _(
                "Keep 'Mail: Email Queue Manager' active at 15 minutes, make sure cron workers "
                "run (--max-cron-threads), and retry or cancel failed mail in Settings > "
                "Technical > Emails."
            ),
            details=details,
        )

    def _check_quota(self, context):
        if "mail.quota.usage" not in self.env:
            return Finding(
                NOT_AVAILABLE,
                _("Not available: no daily quota ledger in this database."),
            )
        Usage = self.env["mail.quota.usage"].sudo()
        if hasattr(Usage, "_health_summary"):
            summary = Usage._health_summary(days=7)
            finding = Finding(
                summary.get("status", OK),
                summary.get("finding", ""),
                summary.get("fix", ""),
                details=summary.get("details", []),
            )
            if finding.status == OK and not Usage._settings()[0]:
                return self._quota_provider_suggestion(finding) or finding
            return finding
        return self._quota_from_ledger(Usage)

    def _compute_quota_today(self):
        """Live figures on the quota card: one source with Settings
        (``mail.quota.usage._today_figures``), never the snapshot of the last run."""
        quota = self.filtered(lambda check: check.code == "quota")
        (self - quota).update(
            {"quota_today": False, "quota_saver_count": 0, "quota_saver_label": False}
        )
        if not quota:
            return
        Usage = self.env["mail.quota.usage"].sudo()
        today = Usage._today_text()
        count = 0
        if Usage._settings()[0]:  # the saver only matters under a daily limit
            Users = self.env["res.users"].sudo()
            count = Users.search_count(Users._mr_email_notified_internal_domain())
        label = (
            _("Switch %(n)s internal users to Handle in Odoo", n=count)
            if count != 1
            else _("Switch 1 internal user to Handle in Odoo")
        )
        quota.update({"quota_today": today, "quota_saver_count": count, "quota_saver_label": label})

    def action_open_quota_saver(self):
        """The quota card's action: the wizard switching internal users' notifications."""
        self.check_access("write")
        return self.env["mail.quota.saver.wizard"].action_open()

    def _quota_provider_suggestion(self, finding):
        """No database limit, but an outgoing server of a provider with a known daily
        limit and no limit of its own: suggest one (a warning, nothing is changed)."""
        suggestions = []
        # the presets' labels as the settings' selection shows them (translated)
        preset_field = self.env["res.config.settings"]._fields["mr_daily_limit_preset"]
        labels = dict(preset_field._description_selection(self.env))
        for server in self.env["ir.mail_server"].sudo().search([("daily_limit", "=", 0)]):
            presets = provider_limits.presets_for_host(server.smtp_host)
            if presets:
                suggestions.append(
                    _(
                        "%(server)s (%(host)s): %(presets)s",
                        server=server.name,
                        host=server.smtp_host,
                        presets=_(" or ").join(labels.get(p.code, p.label) for p in presets),
                    )
                )
        if not suggestions:
            return None
        return Finding(
            WARNING,
            _(
                "No daily limit is set, but mail goes through a provider that limits "
                "sending: %(servers)s.",
                servers="; ".join(suggestions),
            ),
            _(
                "Set the daily limit of your plan in Settings > Emails > Daily Sending Limit "
                "(Provider Preset), or on the outgoing server: mail over the provider's limit "
                "is refused by the provider instead of waiting for the next day."
            ),
            details=list(finding.details),
        )

    def _quota_from_ledger(self, Usage):
        """Read a quota ledger with (day, used, limit)-like fields, whatever their names."""
        names = Usage._fields
        day = next((f for f in ("day", "date", "usage_date") if f in names), None)
        used = next((f for f in ("used", "count", "sent_count", "usage") if f in names), None)
        limit = next((f for f in ("limit", "daily_limit", "quota") if f in names), None)
        if not (day and used and limit):
            return Finding(
                NOT_AVAILABLE, _("Not available: the quota ledger has an unknown shape.")
            )
        today = fields.Date.context_today(self)
        rows = Usage.search([(day, ">=", today - timedelta(days=6))])
        by_day = Counter()
        limits = {}
        for row in rows:
            by_day[row[day]] += row[used] or 0
            limits[row[day]] = max(limits.get(row[day], 0), row[limit] or 0)
        hit = sorted(d for d in by_day if limits.get(d) and by_day[d] >= limits[d])
        details = [f"{d}: {by_day[d]}/{limits.get(d) or '-'}" for d in sorted(by_day)]
        finding = _(
            "Today: %(used)s/%(limit)s emails.",
            used=by_day.get(today, 0),
            limit=limits.get(today) or "-",
        )
        if hit:
            return Finding(
                WARNING,
                finding + " " + _("Limit reached on %(days)s.", days=", ".join(map(str, hit))),
                _("Raise the daily limit of the outgoing server or spread sending over time."),
                details=details,
            )
        return Finding(OK, finding, details=details)

    def _check_bounce_rate(self, context):
        """Hard bounces / attempted recipients per outgoing server and per sending
        domain over 30 days, from the delivery statistics (SES style: only above a
        minimum volume), with the worst recipient domains and campaigns."""
        rows = self._bounce_rate_rows(days=30)
        attempted = sum(counts["attempted"] for _dims, counts in rows)
        hard = sum(counts["hard_bounced"] for _dims, counts in rows)
        min_volume = self._int_param("bounce_rate_min_volume", DEFAULT_BOUNCE_MIN_VOLUME)
        warning = self._float_param("bounce_rate_warning", health_rules.BOUNCE_WARNING_RATE)
        error = self._float_param("bounce_rate_error", health_rules.BOUNCE_ERROR_RATE)
        servers = self.env["ir.mail_server"].sudo().with_context(active_test=False)
        default_server, no_sender = _("Default server"), _("(no sender)")
        rated = [
            (servers.browse(key).display_name if key else default_server, *rest)
            for key, *rest in delivery_stats.bounce_rates(rows, "mail_server_id", min_volume)
        ] + [
            (key or no_sender, *rest)
            for key, *rest in delivery_stats.bounce_rates(rows, "sender_domain", min_volume)
        ]
        if attempted:
            finding = _(
                "Hard bounces: %(hard)s of %(attempted)s recipients in 30 days (%(rate).1f%%).",
                hard=hard,
                attempted=attempted,
                rate=100.0 * hard / attempted,
            )
        else:
            finding = _("No email sent in the last 30 days.")
        worst_rate = max((item[3] for item in rated), default=None)
        status = health_rules.bounce_rate_status(worst_rate, warning=warning, error=error)
        flagged = [item for item in rated if item[3] >= warning]
        if flagged:
            finding += " " + _(
                "Above %(warning)s%%: %(list)s.",
                warning=format(warning, "g"),
                list=", ".join(
                    f"{name} {rate:.1f}% ({bounced}/{sent})"
                    for name, sent, bounced, rate in flagged[:4]
                ),
            )
            domains = delivery_stats.worst(rows, "recipient_domain")
            if domains:
                finding += " " + _(
                    "Most hard bounces at: %(domains)s.",
                    domains=", ".join(f"{name} ({n})" for name, n in domains),
                )
            if "mailing_id" in self.env["mail.delivery.stats"]._fields:
                mailings = self.env["mailing.mailing"].sudo().with_context(active_test=False)
                campaigns = delivery_stats.worst(rows, "mailing_id")
                if campaigns:
                    finding += " " + _(
                        "Campaigns: %(campaigns)s.",
                        campaigns=", ".join(
                            f"{mailings.browse(key).display_name} ({n})" for key, n in campaigns
                        ),
                    )
        elif attempted and not rated:
            finding += " " + _(
                "Fewer than %(volume)s recipients per server and sending domain: too few "
                "to judge.",
                volume=min_volume,
            )
        complaints = self.env["mail.thread"]._mr_complaint_rate(30)
        finding += " " + _(
            "Spam complaint rate %(rate).2f%% (%(complained)s complaints).",
            rate=complaints["rate"],
            complained=complaints["complained"],
        )
        complaint_status = {"warning": WARNING, "critical": ERROR}.get(complaints["level"], OK)
        if complaint_status != OK and status != ERROR:
            return Finding(
                complaint_status,
                finding,
                _(
                    "Above 0.1%% spam complaints providers review the sender, above 0.5%% they "
                    "pause it. Send only to people who asked for it and make unsubscribing easy."
                ).replace("%%", "%"),
            )
        if status == OK:
            return Finding(OK, finding)
        return Finding(
            status,
            finding,
            _(
                "Above %(warning)s%% providers review the sender, above %(error)s%% they block "
                "it. Clean the mailing lists (blacklist addresses that bounce) and look at "
                "Email Health > Problems by Domain.",
                warning=format(warning, "g"),
                error=format(error, "g"),
            ),
        )

    @api.model
    def _bounce_rate_rows(self, days):
        """[(dims, counts)] of the delivery statistics of the last ``days`` days."""
        Stats = self.env["mail.delivery.stats"].sudo()
        dims = list(Stats._mr_dimensions())
        since = fields.Date.today() - timedelta(days=days - 1)
        groups = Stats._read_group(
            [("date", ">=", since)], dims, ["attempted:sum", "hard_bounced:sum"]
        )
        rows = []
        for *values, attempted, hard in groups:
            row = {
                name: getattr(value, "id", value) or False
                for name, value in zip(dims, values, strict=False)
            }
            rows.append((row, {"attempted": attempted, "hard_bounced": hard}))
        return rows

    @api.model
    def _int_param(self, key, default):
        """A whole-number parameter (``mail.thread._mr_int_param`` reads it), at least 0."""
        return max(0, self.env["mail.thread"]._mr_int_param(PARAM % key, default))

    @api.model
    def _float_param(self, key, default):
        try:
            value = float(self._param(key) or default)
        except ValueError:
            return default
        return value if value > 0 else default

    @api.model
    def _domain_threshold(self):
        try:
            return max(1, int(self._param("domain_failure_threshold") or DEFAULT_DOMAIN_THRESHOLD))
        except ValueError:
            return DEFAULT_DOMAIN_THRESHOLD

    @api.model
    def _domain_failures(self):
        since = fields.Datetime.now() - timedelta(days=30)
        rows = (
            self.env["mail.mail"]
            .sudo()
            ._read_group(
                [
                    ("state", "=", "exception"),
                    ("create_date", ">=", since),
                    ("recipient_domain", "!=", False),
                ],
                ["recipient_domain", "failure_type"],
                ["__count"],
            )
        )
        per_domain = {}
        for domain, failure_type, count in rows:
            per_domain.setdefault(domain, Counter())[failure_type or "unknown"] += count
        threshold = self._domain_threshold()
        return {
            domain: types
            for domain, types in sorted(per_domain.items(), key=lambda kv: -sum(kv[1].values()))
            if sum(types.values()) >= threshold
        }

    @api.model
    def _flagged_domains(self):
        return list(self._domain_failures())

    def _check_domain_failures(self, context):
        flagged = self._domain_failures()
        threshold = self._domain_threshold()
        if not flagged:
            return Finding(
                OK,
                _("No domain with %(n)s or more failures in 30 days.", n=threshold),
            )
        labels = dict(
            self.env["mail.mail"]._fields["failure_type"]._description_selection(self.env)
        )
        details = []
        for domain, types in flagged.items():
            top, _count = types.most_common(1)[0]
            details.append(
                _(
                    "%(domain)s: %(n)s failures, mostly %(type)s",
                    domain=domain,
                    n=sum(types.values()),
                    type=labels.get(top, top),
                )
            )
        return Finding(
            WARNING,
            _(
                "%(count)s domain(s) with recurring failures: %(domains)s.",
                count=len(flagged),
                domains=", ".join(list(flagged)[:5]),
            ),
            _(
                "Open the filtered queue to read the replies. A recurring problem with the same "
                "domain is often SPF/DKIM or a block on the receiving side: contact that "
                "domain's postmaster with a support bundle."
            ),
            details=details,
        )
