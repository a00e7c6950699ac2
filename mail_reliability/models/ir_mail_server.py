# Copyright 2026 mail_reliability contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Keep what the SMTP server really said.

Stock ``send_email`` wraps every smtplib error into a text-only
``MailDeliveryException`` naming server 'None', drops the reply code and
ignores the recipients a server refused while accepting the others.  Here
the original exception is classified (``tools.smtp_status``) and the result
is left, keyed by Message-Id, in a per-cursor outcome register that
``mail.mail`` reads when it turns the attempt into a state
(:meth:`mail.mail._mr_apply_outcome`).
"""

import dataclasses
import logging
import smtplib

from odoo import _, api, models

from odoo.addons.base.models.ir_mail_server import MailDeliveryException

from ..tools.smtp_status import classify_exception, classify_refused_recipients

_logger = logging.getLogger(__name__)

OUTCOMES_KEY = "mail_reliability.outcomes"
CONNECT_KEY = "mail_reliability.connect_error"


def outcome_register(cr):
    """Per-cursor {Message-Id: {"verdict", "refused", "delivered"}} register."""
    return cr.cache.setdefault(OUTCOMES_KEY, {})


def _outcome(cr, message_id):
    return outcome_register(cr).setdefault(
        message_id or "", {"verdict": None, "refused": {}, "delivered": set()}
    )


class IrMailServer(models.Model):
    _inherit = "ir.mail_server"

    def connect(self, *args, **kwargs):
        try:
            smtp = super().connect(*args, **kwargs)
        except Exception as exc:
            verdict = classify_exception(exc)
            self.env.cr.cache[CONNECT_KEY] = verdict
            _logger.info("SMTP connection failed: %s (%s)", verdict.failure_type, verdict.message)
            raise
        if smtp is not None:
            self._mr_instrument_session(smtp, kwargs.get("mail_server_id"))
        return smtp

    def _mr_instrument_session(self, smtp, mail_server_id=None):
        """Name the session, record per-recipient refusals, make quit() safe."""
        if getattr(smtp, "_mr_instrumented", False):
            return
        smtp._mr_label = self._mr_session_label(smtp, mail_server_id)
        cr = self.env.cr
        send_message = smtp.send_message
        quit_session = smtp.quit

        def mr_send_message(msg, from_addr=None, to_addrs=None, *args, **kwargs):
            refused = send_message(msg, from_addr, to_addrs, *args, **kwargs) or {}
            entry = _outcome(cr, (msg["Message-Id"] or "").strip())
            if refused:
                server = self._mr_server_label(None, None, smtp)
                entry["refused"].update(self._mr_refusals(refused, server))
            addresses = to_addrs if isinstance(to_addrs, list | tuple) else [to_addrs]
            entry["delivered"].update(a.lower() for a in addresses if a and a not in refused)
            return refused

        def mr_quit():
            try:
                return quit_session()
            except (smtplib.SMTPServerDisconnected, OSError):
                smtp.close()
                return None

        smtp.send_message = mr_send_message
        smtp.quit = mr_quit
        smtp._mr_instrumented = True

    @api.model
    def send_email(self, message, mail_server_id=None, smtp_server=None, *args, **kwargs):
        message_id = (message["Message-Id"] or "").strip()
        try:
            return super().send_email(message, mail_server_id, smtp_server, *args, **kwargs)
        except smtplib.SMTPServerDisconnected as exc:
            _outcome(self.env.cr, message_id)["verdict"] = classify_exception(exc)
            raise
        except MailDeliveryException as exc:
            original = exc.__context__ or exc.__cause__
            if original is None or isinstance(original, MailDeliveryException):
                raise
            entry = _outcome(self.env.cr, message_id)
            if isinstance(original, smtplib.SMTPRecipientsRefused) and self.env.context.get(
                "mail_reliability_collect_refusals"
            ):
                # Every recipient of this one email was refused, but the session is fine:
                # record who and why, and let mail.mail go on with its other recipients.
                server = self._mr_server_label(
                    mail_server_id, smtp_server, kwargs.get("smtp_session")
                )
                entry["refused"].update(self._mr_refusals(original.recipients, server))
                return message_id
            verdict = classify_exception(original)
            server = self._mr_server_label(mail_server_id, smtp_server, kwargs.get("smtp_session"))
            text = _(
                "Mail delivery failed via SMTP server '%(server)s'.\n%(name)s: %(reply)s",
                server=server,
                name=original.__class__.__name__,
                reply=verdict.message or original,
            )
            entry["verdict"] = dataclasses.replace(verdict, message=text)
            raise MailDeliveryException(_("Mail Delivery Failed"), text) from original

    def _mr_refusals(self, refused, server):
        """{address: verdict} for smtplib's {address: (code, reply)}, naming the server."""
        return {
            address.lower(): dataclasses.replace(
                verdict,
                message=_(
                    "SMTP server '%(server)s' refused %(address)s: %(reply)s",
                    server=server,
                    address=address,
                    reply=verdict.message,
                ),
            )
            for address, verdict in classify_refused_recipients(refused).items()
        }

    def _mr_session_label(self, smtp, mail_server_id=None):
        """'<server name> (host:port)' for a live session, as precise as we can."""
        host = getattr(smtp, "_host", None)
        try:
            port = smtp.sock.getpeername()[1] if getattr(smtp, "sock", None) else None
        except OSError:
            port = None
        address = f"{host}:{port}" if host and port else host
        server = self.sudo().browse(mail_server_id).exists() if mail_server_id else None
        if not server and host:
            domain = [("smtp_host", "=", host)] + ([("smtp_port", "=", port)] if port else [])
            server = self.sudo().search(domain, limit=1)
        if server:
            return f"{server.name} ({address or server.smtp_host})"
        return address

    def _mr_server_label(self, mail_server_id, smtp_server, smtp_session):
        """Name the server really used (stock prints 'None' when a session is passed)."""
        label = getattr(smtp_session, "_mr_label", None) if smtp_session is not None else None
        if label:
            return label
        if mail_server_id:
            server = self.sudo().browse(mail_server_id).exists()
            if server:
                return f"{server.name} ({server.smtp_host})"
        return smtp_server or _("default server")
