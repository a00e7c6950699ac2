# Copyright 2026 mail_reliability contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Housekeeping: retention rules applied in small, short transactions.

Stock Odoo keeps failed, cancelled and archived (``auto_delete=False``) outgoing
mail forever. Failed and cancelled mail have a retention by default; sent mail
kept on purpose (``auto_delete=False``) only when the administrator sets one
(``mail_reliability.vacuum_sent_days``, default 0 = keep). Each retention rule
here names a model, the date that starts its clock, the system parameter holding
the number of days and an extra domain. ``_vacuum_rules()`` is the hook: another
module adds its own rule by extending it with ``super()``; a rule whose model is
not installed is skipped.

Deletion is bounded: one call deletes at most ``VACUUM_BATCH_SIZE`` rows and
reports what is left. The daily ``@api.autovacuum`` run does one batch and,
when more is left, wakes the "Mail Reliability: Retention clean-up" cron,
whose runner commits after every batch (``_notify_progress``) -- so no
transaction holds locks for long, and no ``cr.commit()`` is needed here.

Deleting a ``mail.mail`` never deletes its ``mail.message``: the chatter
keeps the content.
"""

import logging

from odoo import api, fields, models

from ..tools import retention
from ..tools.constants import VACUUM_CRON_XMLID

_logger = logging.getLogger(__name__)

VACUUM_BATCH_SIZE = 1000


class MailReliabilityVacuum(models.AbstractModel):
    _name = "mail.reliability.vacuum"
    _description = "Mail Reliability: retention clean-up"

    @api.model
    def _vacuum_rules(self):
        """Return the retention rules, in the order they are applied.

        Each rule is a dict:

        * ``key``: short unique name (used in logs);
        * ``model``: model name; skipped if not installed;
        * ``date_field``: rows whose date is older than the retention go;
        * ``param``: ``ir.config_parameter`` key holding the days;
        * ``default_days``: used when the parameter is not set;
        * ``domain``: extra domain (list).

        Extend with ``super()`` to add rules for other logs.
        """
        return [
            {
                "key": "mail_sent",
                "model": "mail.mail",
                "date_field": "write_date",
                "param": "mail_reliability.vacuum_sent_days",
                # the sender chose to keep these ("Auto Delete" off, "Keep Archives"):
                # kept unless the administrator opts in to a retention
                "default_days": 0,
                "domain": [("state", "=", "sent"), ("auto_delete", "=", False)],
            },
            {
                "key": "mail_cancel",
                "model": "mail.mail",
                "date_field": "write_date",
                "param": "mail_reliability.vacuum_cancel_days",
                "default_days": 30,
                "domain": [("state", "=", "cancel")],
            },
            {
                "key": "mail_exception",
                "model": "mail.mail",
                "date_field": "write_date",
                "param": "mail_reliability.vacuum_exception_days",
                "default_days": 90,
                "domain": [("state", "=", "exception")],
            },
            {
                "key": "quota_usage",
                "model": "mail.quota.usage",
                "date_field": "create_date",
                "param": "mail_reliability.vacuum_quota_usage_days",
                "default_days": 400,
                "domain": [],
            },
            {
                "key": "incoming_rejection",
                "model": "mail.incoming.rejection",
                "date_field": "create_date",
                "param": "mail_reliability.vacuum_rejection_days",
                "default_days": 90,
                "domain": [],
            },
        ]

    @api.model
    def _vacuum_rule_days(self, rule):
        """Retention of a rule in days; a nonsense value disables it, loudly."""
        value = self.env["ir.config_parameter"].sudo().get_param(rule["param"])
        if value in (None, False, ""):
            return rule["default_days"]
        try:
            return retention.parse_days(value)
        except ValueError as exc:
            _logger.warning("%s ignored, rule %s skipped: %s", rule["param"], rule["key"], exc)
            return 0

    @api.model
    def _vacuum_rule_domain(self, rule, now=None):
        """The domain of rows past retention, or ``None`` if the rule is off or unusable."""
        if rule["model"] not in self.env:
            return None
        if rule["date_field"] not in self.env[rule["model"]]._fields:
            _logger.warning(
                "Retention rule %s skipped: %s has no field %s",
                rule["key"],
                rule["model"],
                rule["date_field"],
            )
            return None
        limit = retention.cutoff(now or fields.Datetime.now(), self._vacuum_rule_days(rule))
        if limit is None:
            return None
        return [*(rule.get("domain") or []), (rule["date_field"], "<", limit)]

    @api.model
    def _vacuum_batched(self, model_name, domain, batch_size=VACUUM_BATCH_SIZE):
        """Delete at most ``batch_size`` rows matching ``domain``, oldest ids first.

        :return: ``(deleted, remaining)``
        """
        model = self.env[model_name].sudo().with_context(active_test=False)
        records = model.search(domain, limit=batch_size, order="id")
        if not records:
            return 0, 0
        self._vacuum_before_unlink(records)
        deleted = len(records)
        records.unlink()
        remaining = model.search_count(domain) if deleted >= batch_size else 0
        return deleted, remaining

    @api.model
    def _vacuum_before_unlink(self, records):
        """Keep what must survive the deletion of ``records``.

        Stock ``mail.mail.unlink()`` also deletes the ``mail.message`` of a mail
        that was not created as a notification. The vacuum keeps every message
        (the chatter and the document keep the content): flagging those mails as
        notifications makes unlink() leave their message alone.
        """
        if records._name == "mail.mail":
            records.filtered(lambda m: not m.is_notification).write({"is_notification": True})

    @api.model
    def _vacuum_run(self, batch_size=VACUUM_BATCH_SIZE):
        """Apply the rules in order, deleting at most ``batch_size`` rows in all.

        :return: ``(deleted, remaining)`` over all rules
        """
        now = fields.Datetime.now()
        deleted = remaining = 0
        for rule in self._vacuum_rules():
            domain = self._vacuum_rule_domain(rule, now=now)
            if domain is None:
                continue
            budget = batch_size - deleted
            if budget <= 0:
                remaining += self.env[rule["model"]].sudo().search_count(domain)
                continue
            done, left = self._vacuum_batched(rule["model"], domain, batch_size=budget)
            if done:
                _logger.info("Retention %s: %s %s row(s) deleted", rule["key"], done, rule["model"])
            deleted += done
            remaining += left
        return deleted, remaining

    @api.autovacuum
    def _gc_mail_retention(self):
        """Daily: one bounded batch; the retention cron takes over when more is left."""
        deleted, remaining = self._vacuum_run()
        if remaining:
            self.env["ir.cron"]._mr_trigger(VACUUM_CRON_XMLID)
        return deleted

    @api.model
    def _cron_vacuum(self, batch_size=VACUUM_BATCH_SIZE):
        """Cron: one bounded batch per call; the cron runner commits and calls again."""
        deleted, remaining = self._vacuum_run(batch_size=batch_size)
        self.env["ir.cron"]._notify_progress(done=deleted, remaining=remaining)
        return deleted
