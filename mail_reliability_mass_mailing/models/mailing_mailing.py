# Copyright 2026 mail_reliability contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""The Email Marketing queue, first in first out, with visible head-of-line blocking.

Stock Odoo 18 walks the queue newest first (``_order = calendar_date DESC``),
lets one exception abort the whole run and cannot cancel a ``sending``
mailing.  Here:

* eligible mailings (``in_queue`` or ``sending``, schedule date passed) are
  taken strictly by ``create_date``, then ``id``;
* only the head is processed, by stock's own ``_process_mass_mailing_queue``
  (``super()``) whose queue search the ``mr_queue_pick`` context key restricts
  to the head (see ``search``); the next one starts once the head is ``done``
  (or cancelled), in the same run, and a cron trigger is left behind so a
  killed worker does not make it wait a day; stock's KPI reports go out once,
  at the end of the run;
* an exception while processing the head is rolled back to a savepoint,
  stored on the mailing (``queue_error``), logged and posted on its chatter;
  the head keeps blocking until it succeeds or is cancelled;
* cancelling a ``sending`` mailing cancels its unsent emails.
"""

import logging

from psycopg2 import Error as PgError
from psycopg2 import errors as pg_errors

from odoo import _, api, fields, models
from odoo.exceptions import UserError

from odoo.addons.mail_reliability.tools.constants import (
    MASS_MAILING_QUEUE_CRON_XMLID,
    QUEUE_CRON_XMLID,
)

_logger = logging.getLogger(__name__)

QUEUE_STATES = ("in_queue", "sending")
# Context key of a queue run: the id of the head stock's queue search may find (0: none).
QUEUE_PICK_KEY = "mr_queue_pick"
QUEUE_ORDER = "create_date asc, id asc"
# Fields the queue writes itself: editing them does not mean "I fixed the mailing".
QUEUE_FIELDS = {"queue_error", "queue_error_count", "state", "sent_date", "kpi_mail_required"}


def _is_queue_leaf(term):
    """Whether ``term`` is stock's queue condition ``('state', 'in', QUEUE_STATES)``."""
    return (
        isinstance(term, list | tuple)
        and len(term) == 3
        and tuple(term[:2]) == ("state", "in")
        and isinstance(term[2], list | tuple)
        and tuple(term[2]) == QUEUE_STATES
    )


class MailingMailing(models.Model):
    _inherit = "mailing.mailing"

    queue_position = fields.Integer(
        compute="_compute_queue_position",
        help="Place in the Email Marketing queue: 1 is the head, being processed; "
        "0 means not in the running (not queued, or scheduled for later).",
    )
    queue_blocked_by_id = fields.Many2one(
        "mailing.mailing",
        string="Waiting behind",
        compute="_compute_queue_position",
        help="The mailing at the head of the queue: this one starts once it is sent or cancelled.",
    )
    queue_error = fields.Text(
        readonly=True,
        copy=False,
        help="Last error raised while the queue processed this mailing. "
        "While set, the mailing blocks the queue: fix it, or cancel it.",
    )
    queue_error_count = fields.Integer(
        readonly=True,
        copy=False,
        help="How many queue runs failed on this mailing since it was last put in the queue",
    )

    @api.depends("state", "schedule_date")
    def _compute_queue_position(self):
        queue = self._mr_queue()
        position = {mailing.id: index for index, mailing in enumerate(queue, start=1)}
        head = queue[:1]
        for mailing in self:
            mailing.queue_position = position.get(mailing._origin.id or mailing.id, 0)
            mailing.queue_blocked_by_id = head if mailing.queue_position > 1 else False

    # ------------------------------------------------------------------
    # CRUD
    # ------------------------------------------------------------------
    def write(self, vals):
        res = super().write(vals)
        if set(vals) - QUEUE_FIELDS and any(
            mailing.queue_error and mailing.state in QUEUE_STATES for mailing in self
        ):
            # The blocking head was edited (filter, body...): try it again now.
            self._mr_trigger_queue_cron()
        return res

    # ------------------------------------------------------------------
    # Actions
    # ------------------------------------------------------------------
    def action_put_in_queue(self):
        self.filtered("queue_error_count").write({"queue_error": False, "queue_error_count": 0})
        return super().action_put_in_queue()

    def action_cancel(self):
        """Take mailings out of the queue, ``sending`` ones included, and let the next go."""
        sent = self.filtered(lambda m: m.state == "done")
        if sent:
            raise UserError(
                _(
                    "These mailings are already sent and cannot be cancelled: %(names)s",
                    names=", ".join(sent.mapped("display_name")),
                )
            )
        queued = self.filtered(lambda m: m.state in QUEUE_STATES)
        for mailing in queued.filtered(lambda m: m.state == "sending"):
            mailing._action_cancel_unsent_mails()
        res = super(MailingMailing, queued).action_cancel()
        if queued:
            # The mailing behind may be next: do not make it wait for the daily run.
            self._mr_trigger_queue_cron()
        return res

    def _action_cancel_unsent_mails(self):
        """Cancel this mailing's emails not sent yet; emails already sent stay as they are.

        Rows being sent right now by the email queue are locked by that sender
        (``mail_reliability`` locks each mail before sending it): they are left
        to finish, never sent twice nor half cancelled.
        """
        self.ensure_one()
        self.env.flush_all()
        try:
            with self.env.cr.savepoint(flush=False):
                self.env.cr.execute(
                    """SELECT id FROM mail_mail
                        WHERE mailing_id = %s AND state = 'outgoing'
                          FOR UPDATE SKIP LOCKED""",
                    [self.id],
                )
                mail_ids = [row[0] for row in self.env.cr.fetchall()]
        except (pg_errors.SerializationFailure, pg_errors.LockNotAvailable):
            mail_ids = []
        mails = self.env["mail.mail"].sudo().browse(mail_ids)
        reason = _("Mailing cancelled before this email was sent")
        mails.write({"state": "cancel", "failure_reason": reason})
        traces = mails.mailing_trace_ids.filtered(
            lambda t: t.trace_status in ("outgoing", "process", "pending")
        )
        traces.write({"trace_status": "cancel", "failure_reason": reason})
        self.message_post(
            body=_(
                "Cancelled while sending: %(cancelled)s unsent email(s) cancelled; "
                "emails already sent are untouched.",
                cancelled=len(mails),
            ),
            subtype_xmlid="mail.mt_note",
        )
        _logger.info(
            "mailing.mailing %s cancelled while sending: %s unsent mail(s) cancelled",
            self.id,
            len(mails),
        )
        return mails

    # ------------------------------------------------------------------
    # Generation: marketing mail goes through the email queue
    # ------------------------------------------------------------------
    def _get_mass_mailing_context(self):
        # Stock force-sends a mailing of up to 100 recipients ("mail.mail.force.send.limit")
        # from inside the Email Marketing cron. Marketing mail is not urgent: it goes through
        # the email queue (FIFO, deferral, quotas) like any other mail.
        return {**super()._get_mass_mailing_context(), "default_force_send": False}

    def _action_send_mail(self, res_ids=None):
        res = super()._action_send_mail(res_ids=res_ids)
        if any(mailing.mailing_type == "mail" for mailing in self):
            self.env["ir.cron"]._mr_trigger(QUEUE_CRON_XMLID, once=False)
        return res

    # ------------------------------------------------------------------
    # Queue
    # ------------------------------------------------------------------
    @api.model
    def _mr_queue_domain(self):
        return [
            ("state", "in", QUEUE_STATES),
            "|",
            ("schedule_date", "<=", fields.Datetime.now()),
            ("schedule_date", "=", False),
        ]

    @api.model
    def _mr_queue(self):
        """Eligible mailings in processing order; the first one is the head."""
        return self.sudo().search(self._mr_queue_domain(), order=QUEUE_ORDER).with_env(self.env)

    @api.model
    def search(self, domain, offset=0, limit=None, order=None):
        """Inside a queue run, stock's queue search finds only the head this module picked.

        ``_process_mass_mailing_queue`` runs stock's method once per head with the
        head's id in the ``mr_queue_pick`` context key (``0``: no mailing). While the
        key is set, stock's queue search (the one restricted to ``in_queue`` and
        ``sending``) finds that head only, and its KPI report search finds nothing
        unless no head is processed (the last call of the run sends the reports).
        The records found no longer carry the key, so nothing stock does with them
        sees it.
        """
        pick = self.env.context.get(QUEUE_PICK_KEY)
        if type(pick) is not int:  # not in a queue run (or a caller's stray value)
            return super().search(domain, offset=offset, limit=limit, order=order)
        context = dict(self.env.context)
        del context[QUEUE_PICK_KEY]
        unpicked = self.with_env(self.env(context=context))
        if any(_is_queue_leaf(term) for term in domain):
            domain = [("id", "=", pick)]
        elif pick:
            return unpicked.browse()
        return super(MailingMailing, unpicked).search(
            domain, offset=offset, limit=limit, order=order
        )

    @api.model
    def _process_mass_mailing_queue(self):
        """Process the queue strictly head first, by creation date (stock: newest first).

        Each head goes through stock's own processing (``super()``, restricted to it
        by :meth:`search`) inside a savepoint; the KPI reports go out once, at the end.
        """
        processed = set()
        while True:
            queue = self._mr_queue()
            head = queue[:1]
            if not head or head.id in processed:
                break
            processed.add(head.id)
            run_stock = super(MailingMailing, self.with_context(**{QUEUE_PICK_KEY: head.id}))
            if not self._mr_process_queue_head(head, run_stock._process_mass_mailing_queue):
                break  # the head failed: it keeps blocking, the others wait behind it
            waiting = len(queue) - 1
            self.env["ir.cron"]._notify_progress(done=len(processed), remaining=waiting)
            if head.state == "done" and waiting:
                # Should this run die now, the next mailing still starts promptly.
                self._mr_trigger_queue_cron()
        # No head left to pick: stock's run only sends its KPI reports.
        reports_only = self.with_context(**{QUEUE_PICK_KEY: 0})
        return super(MailingMailing, reports_only)._process_mass_mailing_queue()

    @api.model
    def _mr_process_queue_head(self, head, generate):
        """Run ``generate`` (stock's processing of ``head``); on error roll back,
        record, and report False."""
        cr = self.env.cr
        committed = []
        # Core's auto_commit path commits per batch of generated emails, which ends
        # the savepoint: the batches committed are kept and will be sent.
        cr.postcommit.add(lambda: committed.append(True))
        savepoint = cr.savepoint()
        try:
            generate()
        except Exception as exc:  # any failure must leave the cron alive
            if committed:
                cr.rollback()
            else:
                savepoint.close(rollback=True)
            head._mr_record_queue_error(exc)
            return False
        if committed:
            savepoint.closed = True
        else:
            try:
                savepoint.close(rollback=False)
            except PgError as exc:
                cr.rollback()
                head._mr_record_queue_error(exc)
                return False
        if head.queue_error:
            head.write({"queue_error": False})
        return True

    def _mr_record_queue_error(self, exc):
        self.ensure_one()
        message = str(exc) or exc.__class__.__name__
        _logger.warning(
            "Email Marketing queue: mailing %s (%s) failed and blocks the queue: %s",
            self.id,
            self.subject,
            message,
            exc_info=True,
        )
        self.write({"queue_error": message, "queue_error_count": self.queue_error_count + 1})
        self.message_post(
            body=_(
                "The Email Marketing queue could not process this mailing (attempt %(count)s): "
                "%(error)s. It blocks the mailings queued after it until it is fixed or cancelled.",
                count=self.queue_error_count,
                error=message,
            ),
            subtype_xmlid="mail.mt_note",
        )

    @api.model
    def _mr_trigger_queue_cron(self, at=None):
        self.env["ir.cron"]._mr_trigger(MASS_MAILING_QUEUE_CRON_XMLID, at=at, once=False)
