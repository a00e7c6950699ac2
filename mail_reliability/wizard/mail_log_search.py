# Copyright 2026 mail_reliability contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Search the server log files (``odoo.log*``, gzipped ones included).

Only Odoo's own log file (``logfile`` of the server configuration) and its
rotated siblings are read. The system parameter ``mail_reliability.log_file``
may only name that same file: anything else is refused and nothing is read.
"""

import os

from odoo import _, api, fields, models
from odoo.exceptions import UserError
from odoo.tools import config

from ..tools import log_search
from ..tools.i18n import error_text

DEFAULT_MAX_MB = 64


class MailLogSearch(models.TransientModel):
    _name = "mail.log.search"
    _description = "Email Log Search"

    query = fields.Char(
        required=True, help="A Message-Id, an email address or any text (not a pattern)"
    )
    log_file = fields.Char(readonly=True, default=lambda self: self._log_file_shown())
    max_mb = fields.Integer(
        "Read at most (MB)",
        default=lambda self: self._max_bytes() // (1024 * 1024),
        help="The search stops after reading this much log text.",
    )
    result = fields.Text(readonly=True)
    match_count = fields.Integer(readonly=True)
    files_searched = fields.Text(readonly=True)
    truncated = fields.Boolean(readonly=True)

    @api.model
    def _log_file(self):
        """Odoo's own log file (``logfile``), resolved; ``False`` when there is none.

        Raises ``UserError`` when ``mail_reliability.log_file`` names another file.
        """
        requested = self.env["ir.config_parameter"].sudo().get_param("mail_reliability.log_file")
        try:
            return log_search.resolve_logfile(config.get("logfile"), requested) or False
        except log_search.LogPathRefused as exc:
            raise UserError(
                _(
                    "The log search reads only Odoo's own log file. The system parameter "
                    "mail_reliability.log_file names another file, so nothing was read: "
                    "%(reason)s. Delete the parameter or set it to the logfile of the "
                    "server configuration.",
                    reason=error_text(exc, self.env.lang),
                )
            ) from exc

    @api.model
    def _log_file_shown(self):
        try:
            return self._log_file()
        except UserError:
            return False

    @api.model
    def _max_bytes(self):
        value = (
            self.env["ir.config_parameter"]
            .sudo()
            .get_param("mail_reliability.log_search_max_mb", DEFAULT_MAX_MB)
        )
        try:
            megabytes = max(1, int(value))
        except (TypeError, ValueError):
            megabytes = DEFAULT_MAX_MB
        return megabytes * 1024 * 1024

    @api.model
    def default_get(self, fields_list):
        self.check_access("create")  # the default log_file names a path on the server
        return super().default_get(fields_list)

    def action_search(self):
        self.ensure_one()
        self.check_access("write")  # the log files are read outside the ORM
        self._action_search()
        return {
            "type": "ir.actions.act_window",
            "res_model": self._name,
            "res_id": self.id,
            "view_mode": "form",
            "target": "new",
        }

    def _action_search(self):
        logfile = self._log_file()
        if not logfile:
            raise UserError(
                _(
                    "No log file is configured. Start Odoo with --logfile (or logfile in "
                    "odoo.conf)."
                )
            )
        paths = log_search.log_files(logfile)
        if not paths:
            raise UserError(_("No log file found at %(path)s.", path=logfile))
        max_bytes = min(max(1, self.max_mb or 1) * 1024 * 1024, self._max_bytes() * 4)
        try:
            found = log_search.search_logs(paths, self.query, max_bytes=max_bytes)
        except ValueError as exc:
            raise UserError(_("Enter a Message-Id, an address or some text.")) from exc
        text = log_search.format_result(found)
        if found.errors:
            text += "\n\n" + "\n".join(found.errors)
        # a password that reached the log (debug transcript, a traceback) is not shown
        redact = self.env["mail.support.bundle"]._redact_bytes
        text = redact(text.encode()).decode("utf-8", "replace")
        self.write(
            {
                "log_file": logfile,
                "result": text or _("No line matches."),
                "match_count": len(found.matches),
                "files_searched": "\n".join(os.path.basename(p) for p in found.files),
                "truncated": found.truncated,
            }
        )
        return found
