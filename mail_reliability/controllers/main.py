# Copyright 2026 mail_reliability contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Downloads of .eml files and support bundles (administrators only)."""

import base64

from odoo import http
from odoo.exceptions import UserError
from odoo.http import content_disposition, request

from ..wizard.mail_support_bundle import MAX_EML_RECORDS, eml_response_name, zip_files

EML_MODELS = ("mail.mail", "mail.message")


class MailReliabilityDownloads(http.Controller):
    def _check_admin(self):
        """Who may download is who may create a support bundle (the access rights of
        ``mail.support.bundle`` in ``security/ir.model.access.csv``): the files are
        built with sudo()."""
        request.env["mail.support.bundle"].check_access("create")

    @http.route("/mail_reliability/eml/<string:model>/<string:ids>", type="http", auth="user")
    def download_eml(self, model, ids):
        self._check_admin()
        if model not in EML_MODELS:
            raise request.not_found()
        try:
            # each once: a repeated id made a zip with duplicate entries
            record_ids = list(dict.fromkeys(int(i) for i in ids.split(",") if i))
        except ValueError as exc:
            raise request.not_found() from exc
        record_ids = list(dict.fromkeys(record_ids))
        if len(record_ids) > MAX_EML_RECORDS:
            # each .eml is rebuilt by the sending code: bound the work of one request
            return request.make_response(
                request.env._(
                    "At most %(max)s emails can be downloaded at once (%(count)s asked). "
                    "Select fewer emails.",
                    max=MAX_EML_RECORDS,
                    count=len(record_ids),
                ),
                headers=[("Content-Type", "text/plain; charset=utf-8")],
                status=400,
            )
        records = request.env[model].browse(record_ids).exists()
        if not records:
            raise request.not_found()
        try:
            files = request.env["mail.support.bundle"]._eml_files(records)
        except UserError as exc:
            return request.make_response(
                str(exc), headers=[("Content-Type", "text/plain; charset=utf-8")], status=422
            )
        if len(files) == 1:
            name = eml_response_name(records) if records._name == "mail.mail" else files[0][0]
            data, mimetype = files[0][1], "message/rfc822"
        else:
            name, data, mimetype = "emails.zip", zip_files(files), "application/zip"
        return request.make_response(
            data,
            headers=[
                ("Content-Type", mimetype),
                ("Content-Disposition", content_disposition(name)),
            ],
        )

    @http.route("/mail_reliability/bundle/<int:bundle_id>", type="http", auth="user")
    def download_bundle(self, bundle_id):
        self._check_admin()
        bundle = request.env["mail.support.bundle"].browse(bundle_id).exists()
        if not bundle or not bundle.bundle or bundle.create_uid != request.env.user:
            raise request.not_found()
        return request.make_response(
            base64.b64decode(bundle.bundle),
            headers=[
                ("Content-Type", "application/zip"),
                ("Content-Disposition", content_disposition(bundle.bundle_name)),
            ],
        )
