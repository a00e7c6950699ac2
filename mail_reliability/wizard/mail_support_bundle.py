# Copyright 2026 mail_reliability contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
""".eml export and the support bundle (a .zip for whoever investigates).

The .eml of an outgoing ``mail.mail`` is built exactly as ``_send`` builds
it (``_prepare_outgoing_list`` + ``ir.mail_server.build_email``) and then
passed through ``_prepare_email_message`` with the server that would be
used, so From rewriting, Return-Path and Bcc removal match what goes on the
wire.  It is rebuilt at download time, not the bytes that were sent (those are
not kept): the Date header and MIME boundaries differ, and attachments are
read as they are now.
"""

import base64
import io
import logging
import re
import zipfile
from datetime import timedelta
from email import policy as email_policy
from types import SimpleNamespace

import pytz

from odoo import _, api, fields, models
from odoo.exceptions import UserError
from odoo.tools.mail import email_split_and_format

from ..tools import log_search, redaction
from ..tools.i18n import LazyTranslate

_lt = LazyTranslate(__name__)

_logger = logging.getLogger(__name__)

SECRET_FIELD_NAMES = re.compile(r"pass|secret|token|key|credential|certificate", re.I)
SETTINGS_KEYS_PREFIXES = ("mail.", "mail_reliability.")
REDACTED = "[redacted]"
# One .eml download rebuilds each email with the sending code: at most this many at once.
MAX_EML_RECORDS = 100

# report.txt's questions, asked in the reader's language (the answers follow by index)
CHECKLIST = (
    _lt("Is this a notification message from a reply being received in Odoo?"),
    _lt("Is this a message being sent from the Odoo database?"),
    _lt(
        "Is there an incoming email server being used, or is the email being "
        "redirected/forwarded through a custom email server or provider?"
    ),
    _lt("Can you provide an example of an email that has been correctly forwarded?"),
    _lt(
        "Have you changed any email-related settings recently? Did it stop working after "
        "those changes?"
    ),
    _lt(
        "Is it a generic issue or is it specific to a use case? If specific to a use case, "
        "which one?"
    ),
    _lt(
        "Is it working as expected? In case the email is sent using Odoo, the bounce email "
        "should reach the Odoo database and display the red envelope."
    ),
)


def _record_ref(record):
    """``mail.mail(42)``: how report.txt names a record."""
    return f"{record._name}({record.id})"


def _safe_name(text, default="email"):
    name = re.sub(r"[^A-Za-z0-9._-]+", "_", text or "").strip("._")
    return (name or default)[:80]


class MailSupportBundle(models.TransientModel):
    _name = "mail.support.bundle"
    _description = "Email Support Bundle"

    mail_id = fields.Many2one("mail.mail", "Email", ondelete="cascade")
    message_id = fields.Many2one("mail.message", "Message", ondelete="cascade")
    res_model = fields.Char("Document Model")
    res_id = fields.Many2oneReference("Document ID", model_field="res_model")
    description = fields.Text(
        "What happened?", help="Your own description of the problem, added to report.txt"
    )
    bundle = fields.Binary(readonly=True, attachment=False)
    bundle_name = fields.Char(readonly=True)

    @api.model
    def default_get(self, fields_list):
        values = super().default_get(fields_list)
        model = self.env.context.get("active_model")
        active_id = self.env.context.get("active_id")
        if model == "mail.mail" and active_id:
            values.setdefault("mail_id", active_id)
        elif model == "mail.message" and active_id:
            values.setdefault("message_id", active_id)
        elif model and active_id and model in self.env:
            values.setdefault("res_model", model)
            values.setdefault("res_id", active_id)
        return values

    @api.model_create_multi
    def create(self, vals_list):
        for vals in vals_list:
            res_id = vals.get("res_id")
            try:
                valid = not res_id or 0 < int(res_id) < 2**31
            except (TypeError, ValueError):
                valid = False
            if not valid:  # past 2**31 the INSERT itself failed (integer out of range)
                raise UserError(_("%(res_id)r is not a document id.", res_id=res_id))
        return super().create(vals_list)

    # ------------------------------------------------------------------
    # Actions
    # ------------------------------------------------------------------
    def action_generate(self):
        self.ensure_one()
        return self._action_generate()

    def _action_generate(self):
        data = self._build_bundle()
        stamp = fields.Datetime.now().strftime("%Y%m%d-%H%M%S")
        self.write(
            {
                "bundle": base64.b64encode(data),
                "bundle_name": f"support-bundle-{stamp}.zip",
            }
        )
        return {
            "type": "ir.actions.act_url",
            "url": f"/mail_reliability/bundle/{self.id}",
            "target": "self",
        }

    @api.model
    def _action_download_eml(self, records):
        """Server action of mail.mail / mail.message: download their .eml."""
        self.check_access("create")  # the same access rights as the download itself
        if not records:
            raise UserError(_("Select at least one email."))
        if len(records) > MAX_EML_RECORDS:
            raise UserError(
                _(
                    "At most %(max)s emails can be downloaded at once (%(count)s selected). "
                    "Select fewer emails.",
                    max=MAX_EML_RECORDS,
                    count=len(records),
                )
            )
        ids = ",".join(str(i) for i in records.ids)
        return {
            "type": "ir.actions.act_url",
            "url": f"/mail_reliability/eml/{records._name}/{ids}",
            "target": "self",
        }

    # ------------------------------------------------------------------
    # .eml
    # ------------------------------------------------------------------
    @api.model
    def _eml_files(self, records, redactor=None):
        """``[(filename, bytes)]`` for mail.mail or mail.message records.

        The records are read with sudo(): who may export them is who may create a
        support bundle (``security/ir.model.access.csv``).
        """
        self.check_access("create")
        redactor = redactor if redactor is not None else self._redactor()
        files = []
        for record in records.sudo():
            if record._name == "mail.mail":
                messages = self._mail_mime(record)
                prefix = f"mail-{record.id}"
            else:
                messages = self._message_mime(record)
                prefix = f"message-{record.id}"
            for index, message in enumerate(messages, 1):
                if isinstance(message, bytes):
                    data = message
                else:
                    data = message.as_bytes(policy=email_policy.SMTP)
                suffix = f"-{index}" if len(messages) > 1 else ""
                # the same redaction as the bundle: a downloaded .eml is shared just as often
                files.append((f"{prefix}{suffix}.eml", redactor.redact(data)))
        return files

    @api.model
    def _mail_server_for(self, mail, email_from):
        IrMailServer = self.env["ir.mail_server"].sudo()
        alias_domain = mail.record_alias_domain_id
        if alias_domain:
            IrMailServer = IrMailServer.with_context(
                domain_notifications_email=alias_domain.default_from_email,
                domain_bounce_address=alias_domain.bounce_email,
            )
        if mail.mail_server_id:
            return IrMailServer, mail.mail_server_id, email_from
        server, smtp_from = IrMailServer._find_mail_server(email_from)
        return IrMailServer, server or self.env["ir.mail_server"], smtp_from

    @api.model
    def _mail_mime(self, mail):
        """The MIME message(s) ``_send`` sends (or sent) for ``mail``."""
        emails_from = email_split_and_format(mail.email_from)
        email_from = emails_from[0] if emails_from else mail.email_from
        IrMailServer, server, smtp_from = self._mail_server_for(mail, email_from)
        follower_status = None
        if mail.id and mail.body_html and "/mail/unfollow" in mail.body_html:
            follower_status = self.env["mail.followers"]._get_mail_recipients_follower_status(
                mail.ids
            )
        email_list = mail._prepare_outgoing_list(
            mail_server=server, recipients_follower_status=follower_status
        )
        from_filter = server.from_filter if server else IrMailServer._get_default_from_filter()
        session = SimpleNamespace(from_filter=from_filter, smtp_from=smtp_from)
        messages = []
        for email in email_list:
            email_to_normalized = email.pop("email_to_normalized", [])
            email.pop("partner_id", None)
            Sender = IrMailServer.with_context(
                domain_bounce_address=email["headers"].get("Return-Path")
                or IrMailServer.env.context.get("domain_bounce_address"),
                send_validated_to=email_to_normalized,
            )
            msg = Sender.build_email(
                email_from=email_from,
                email_to=email["email_to"],
                subject=email["subject"],
                body=email["body"],
                body_alternative=email["body_alternative"],
                email_cc=email["email_cc"],
                reply_to=email["reply_to"],
                attachments=email["attachments"],
                message_id=email["message_id"],
                references=email["references"],
                object_id=email["object_id"],
                subtype="html",
                subtype_alternative="plain",
                headers=email["headers"],
            )
            try:
                _smtp_from, _to, msg = Sender._prepare_email_message(msg, session)
            except AssertionError as exc:
                # No valid recipient or sender: export what was built, say why.
                msg["X-Mail-Reliability-Note"] = str(exc.args[0] if exc.args else exc)
            messages.append(msg)
        return messages

    @api.model
    def _message_original(self, message):
        """The original of an incoming email, when the mail server kept it."""
        original = message.attachment_ids.filtered(lambda a: a.name == "original_email.eml")
        return original[:1].raw if original else None

    @api.model
    def _message_mime(self, message):
        if message.message_type == "email" or not message.notification_ids:
            original = self._message_original(message)
            if original:
                return [original]
        mails = self.env["mail.mail"].sudo().search([("mail_message_id", "=", message.id)])
        if mails:
            return [mime for mail in mails for mime in self._mail_mime(mail)]
        partners = message.notification_ids.filtered(
            lambda n: n.notification_type == "email"
        ).res_partner_id
        if not partners:
            if message.message_type == "email":
                raise UserError(
                    _(
                        "Message %(id)s was received by email, but its original was not "
                        "kept. Tick 'Keep Original' on the incoming mail server to keep "
                        "the next ones.",
                        id=message.id,
                    )
                )
            raise UserError(_("Message %(id)s was not sent by email.", id=message.id))
        return [
            mime
            for mail in self._rebuild_mails(message, partners)
            for mime in self._mail_mime(mail)
        ]

    @api.model
    def _rebuild_mails(self, message, partners):
        """In-memory mail.mail equal to the ones the notification created (then deleted)."""
        Mail = self.env["mail.mail"].sudo()
        record = None
        if message.model and message.res_id and message.model in self.env:
            record = self.env[message.model].sudo().browse(message.res_id).exists()
        if not record or not hasattr(record, "_notify_by_email_render_layout"):
            return Mail.new(
                {
                    "mail_message_id": message.id,
                    "body_html": message.body,
                    "recipient_ids": [(6, 0, partners.ids)],
                    "state": "sent",
                }
            )
        data = self.env["mail.followers"]._get_recipient_data(
            record, message.message_type, message.subtype_id.id, pids=partners.ids
        )
        recipients = [
            dict(values, notif="email")
            for values in data.get(record.id, {}).values()
            if values["id"] in partners.ids
        ]
        base_values = record._notify_by_email_get_base_mail_values(message)
        mails = Mail
        for _lang, render_values, group in record._notify_get_classified_recipients_iterator(
            message, recipients
        ):
            body = record._notify_by_email_render_layout(
                message, group, render_values=render_values
            )
            values = record._notify_by_email_get_final_mail_values(
                group.pop("recipients"), base_values, additional_values={"body_html": body}
            )
            values.pop("auto_delete", None)
            mails |= Mail.new(values)
        return mails

    # ------------------------------------------------------------------
    # Bundle
    # ------------------------------------------------------------------
    def _bundle_subjects(self):
        """(mails, messages, record) the bundle is about."""
        self.ensure_one()
        mails = self.mail_id.sudo()
        messages = self.message_id.sudo() | mails.mail_message_id
        record = None
        if self.res_model and self.res_id and self.res_model in self.env:
            record = self.env[self.res_model].browse(self.res_id).exists()
        elif messages[:1].model and messages[:1].res_id and messages[:1].model in self.env:
            record = self.env[messages[:1].model].browse(messages[:1].res_id).exists()
        if record is not None and record and not self.mail_id and not self.message_id:
            messages = (
                self.env["mail.message"]
                .sudo()
                .search(
                    [("model", "=", record._name), ("res_id", "=", record.id)],
                    order="id desc",
                    limit=5,
                )
            )
        if not mails and messages:
            mails = self.env["mail.mail"].sudo().search([("mail_message_id", "in", messages.ids)])
        if not mails and not messages and not record:
            raise UserError(_("Choose an email, a message or a document."))
        return mails, messages, record

    def _build_bundle(self):
        self.ensure_one()
        mails, messages, record = self._bundle_subjects()
        redactor = self._redactor()  # the secrets are read once per bundle
        buffer = io.BytesIO()
        notes = []
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            subjects = mails or messages.filtered(lambda m: m.message_type != "notification")
            for subject in subjects:
                try:
                    for name, data in self._eml_files(subject, redactor=redactor):
                        archive.writestr(name, data)
                except UserError as exc:
                    notes.append(str(exc))
            for name, data in self._dsn_files(mails, messages):
                archive.writestr(name, redactor.redact(data))
            report = self._report_text(mails, messages, record, notes)
            archive.writestr("report.txt", redactor.redact(report.encode()))
        return buffer.getvalue()

    @api.model
    def _secrets(self):
        """Every secret the database holds for mail; they never enter a bundle.

        Mail server passwords (and any field of theirs named like a secret), and
        the value of every system parameter whose key contains secret, token, key
        or pass (a flag such as ``True`` or a small number is not a secret).
        """
        secrets = set()
        for model_name in ("ir.mail_server", "fetchmail.server"):
            if model_name not in self.env:
                continue
            Model = self.env[model_name].sudo().with_context(active_test=False)
            names = [
                name
                for name, field in Model._fields.items()
                if field.type in ("char", "text") and SECRET_FIELD_NAMES.search(name)
            ]
            for values in Model.search([]).read(names):
                secrets.update(v for k, v in values.items() if k != "id" and v and len(v) >= 4)
        self.env.cr.execute("SELECT key, value FROM ir_config_parameter")
        secrets.update(
            value
            for key, value in self.env.cr.fetchall()
            if redaction.is_secret_key(key) and redaction.is_secret_value(value)
        )
        return secrets

    @api.model
    def _redactor(self):
        """A :class:`~..tools.redaction.Redactor` over :meth:`_secrets`; build it once
        and pass it to every file of one download."""
        return redaction.Redactor(self._secrets())

    @api.model
    def _redact_bytes(self, data, redactor=None):
        return (redactor if redactor is not None else self._redactor()).redact(data)

    @api.model
    def _dsn_files(self, mails, messages):
        """Delivery status notifications received for these emails (kept originals)."""
        message_ids = {m for m in (mails.mapped("message_id") + messages.mapped("message_id")) if m}
        if not message_ids:
            return []
        files = []
        attachments = (
            self.env["ir.attachment"]
            .sudo()
            .search(
                [
                    "|",
                    ("mimetype", "in", ("message/delivery-status", "message/rfc822")),
                    ("name", "=ilike", "%.eml"),
                    ("res_model", "=", "mail.message"),
                ],
                limit=200,
                order="id desc",
            )
        )
        for attachment in attachments:
            raw = attachment.raw or b""
            if b"delivery-status" not in raw.lower():
                continue
            if any(mid.encode() in raw for mid in message_ids):
                files.append((f"dsn-{attachment.id}.eml", raw))
        return files

    @api.model
    def _format_dt(self, value):
        if not value:
            return "-"
        tz_name = self.env.user.tz or "UTC"
        try:
            local = pytz.utc.localize(value).astimezone(pytz.timezone(tz_name))
        except pytz.UnknownTimeZoneError:
            local = pytz.utc.localize(value)
            tz_name = "UTC"
        return f"{value:%Y-%m-%d %H:%M:%S} UTC / {local:%Y-%m-%d %H:%M:%S} {tz_name}"

    @api.model
    def _server_text(self, server):
        if not server:
            return self.env._("default (first matching server or odoo-bin --smtp options)")
        fields_shown = [
            "name",
            "smtp_host",
            "smtp_port",
            "smtp_encryption",
            "smtp_authentication",
            "smtp_user",
            "from_filter",
        ]
        values = server.sudo().read([f for f in fields_shown if f in server._fields])[0]
        parts = [f"{k}={values[k]}" for k in fields_shown if k in values]
        parts.append(f"smtp_pass={REDACTED}")
        return ", ".join(parts)

    def _report_text(self, mails, messages, record, notes):
        """report.txt: headings, questions and explanations in the reader's language;
        the data lines below them (field names, values, log lines) as they are."""
        _ = self.env._
        title = _("Email support report")
        lines = [title, "=" * len(title), ""]
        lines.append(_("Database: %(name)s", name=self.env.cr.dbname))
        lines.append(_("Generated: %(when)s", when=self._format_dt(fields.Datetime.now())))
        lines.append("")
        reference = record or mails[:1] or messages[:1]
        if reference:
            record = reference
            lines += [
                _("Record"),
                f"  model: {record._name}",
                f"  id: {record.id}",
                f"  name: {record.display_name}",
                "",
            ]
        if self.description:
            lines += [_("Description"), "  " + self.description.replace("\n", "\n  "), ""]
        mail_message_ids = []
        for mail in mails:
            mail_message_ids.append(mail.message_id)
            failed_at = mail.write_date if mail.state == "exception" else None
            lines += [
                _("Email %(record)s", record=_record_ref(mail)),
                f"  subject: {mail.subject or ''}",
                f"  from: {mail.email_from or ''}",
                f"  to: {mail.email_to or ''} "
                f"{', '.join(mail.recipient_ids.mapped('email_formatted'))}",
                f"  Message-Id: {mail.message_id or ''}",
                f"  state: {mail.state}",
                f"  created: {self._format_dt(mail.create_date)}",
                f"  sent: {self._format_dt(mail.date if mail.state == 'sent' else None)}",
                f"  failed: {self._format_dt(failed_at)}",
                f"  outgoing server: {self._server_text(mail.mail_server_id)}",
                f"  failure type: {mail.failure_type or '-'}",
                f"  SMTP reply: {getattr(mail, 'smtp_code', '') or ''} "
                f"{getattr(mail, 'smtp_status', '') or ''}".rstrip(),
                "  raw reply / reason: " + (mail.failure_reason or "-").replace("\n", "\n    "),
                "",
            ]
        for message in messages:
            mail_message_ids.append(message.message_id)
            notifications = message.notification_ids.filtered(
                lambda n: n.notification_type == "email"
            )
            lines += [
                _("Message %(record)s", record=_record_ref(message)),
                f"  type: {message.message_type}",
                f"  subject: {message.subject or ''}",
                f"  author: {message.email_from or ''}",
                f"  Message-Id: {message.message_id or ''}",
                f"  date: {self._format_dt(message.date)}",
            ]
            for notif in notifications:
                lines.append(
                    f"  to {notif.res_partner_id.email or notif.res_partner_id.display_name}: "
                    f"{notif.notification_status}"
                    + (
                        f" ({notif.failure_type}: {notif.failure_reason or ''})"
                        if notif.failure_type
                        else ""
                    )
                )
            lines.append("")
        lines += self._report_log_lines([m for m in mail_message_ids if m])
        lines += self._report_checklist(mails, messages)
        if notes:
            lines += [_("Notes"), *(f"  {n}" for n in notes), ""]
        return "\n".join(lines) + "\n"

    @api.model
    def _report_log_lines(self, message_ids):
        _ = self.env._
        lines = [_("Related log lines (by Message-Id)")]
        try:
            logfile = self.env["mail.log.search"]._log_file()
        except UserError as exc:
            return [*lines, "  " + _("not searched: %(reason)s", reason=exc), ""]
        paths = log_search.log_files(logfile)
        if not paths:
            return [
                *lines,
                "  " + _("no log file configured (logfile of the server configuration)"),
                "",
            ]
        max_bytes = self.env["mail.log.search"]._max_bytes()
        for message_id in dict.fromkeys(message_ids):
            result = log_search.search_logs(paths, message_id.strip("<>"), max_bytes=max_bytes)
            lines.append(
                "  "
                + _(
                    "%(message_id)s: %(count)s line(s)",
                    message_id=message_id,
                    count=len(result.matches),
                )
            )
            lines += ["    " + line for line in log_search.format_result(result).splitlines()[:200]]
            if result.truncated:
                lines.append("    " + _("(search stopped at its size limit)"))
        return [*lines, ""]

    def _report_checklist(self, mails, messages):
        env = self.env
        _ = env._
        since = fields.Datetime.now() - timedelta(days=30)
        all_messages = messages | mails.mail_message_id
        is_reply = any(m.message_type == "email" and m.parent_id for m in all_messages)
        incoming = any(m.message_type == "email" for m in all_messages)
        sent_from_db = bool(mails) or any(
            m.message_type != "email" and m.notification_ids for m in all_messages
        )
        fetchmail = env["fetchmail.server"].sudo().search([]) if "fetchmail.server" in env else []
        changed = []
        for server in (
            env["ir.mail_server"]
            .sudo()
            .with_context(active_test=False)
            .search([("write_date", ">=", since)])
        ):
            changed.append(
                _(
                    "outgoing server '%(name)s' on %(when)s",
                    name=server.name,
                    when=self._format_dt(server.write_date),
                )
            )
        for server in fetchmail:
            if server.write_date and server.write_date >= since:
                changed.append(
                    _(
                        "incoming server '%(name)s' on %(when)s",
                        name=server.name,
                        when=self._format_dt(server.write_date),
                    )
                )
        for param in (
            env["ir.config_parameter"]
            .sudo()
            .search([("write_date", ">=", since), ("key", "=like", "mail%")])
        ):
            changed.append(
                _(
                    "parameter %(key)s on %(when)s",
                    key=param.key,
                    when=self._format_dt(param.write_date),
                )
            )
        for domain in env["mail.alias.domain"].sudo().search([("write_date", ">=", since)]):
            changed.append(
                _(
                    "alias domain %(name)s on %(when)s",
                    name=domain.name,
                    when=self._format_dt(domain.write_date),
                )
            )
        answers = {
            0: _("yes (a reply received by email)")
            if is_reply
            else (_("no") if all_messages else _("unknown")),
            1: _("yes") if sent_from_db else (_("no") if incoming else _("unknown")),
            2: (
                _("yes: %(servers)s", servers=", ".join(s.name for s in fetchmail))
                if fetchmail
                else _("no incoming mail server is configured in this database")
            ),
            4: (
                _("yes, in the last 30 days: %(changes)s", changes="; ".join(changed))
                if changed
                else _("no email setting changed in the last 30 days")
            ),
        }
        lines = [_("Support checklist")]
        for index, question in enumerate(CHECKLIST):
            lines.append(f"- {_(question)}")
            lines.append(f"  {answers.get(index) or _('(to be answered)')}")
        return [*lines, ""]


def eml_response_name(records):
    if len(records) == 1 and records._name == "mail.mail":
        return _safe_name(records.subject, "email") + ".eml"
    return "emails.zip"


def zip_files(files):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in files:
            archive.writestr(name, data)
    return buffer.getvalue()
