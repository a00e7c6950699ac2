# Copyright 2026 mail_reliability contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
{
    "name": "Mail Reliability - Email Marketing",
    "summary": "Email Marketing queue on top of Mail Reliability: FIFO campaigns, "
    "visible head-of-line blocking, failure reasons on traces",
    "version": "18.0.1.0.0",
    "development_status": "Beta",
    "category": "Marketing/Email Marketing",
    "website": "https://github.com/mail-reliability/mail_reliability",
    "author": "mail_reliability contributors",
    "maintainers": ["mail-reliability"],
    "license": "LGPL-3",
    "depends": ["mail_reliability", "mass_mailing"],
    "data": [
        "security/ir.model.access.csv",
        "views/mailing_mailing_views.xml",
        "views/mailing_trace_views.xml",
        "views/mail_delivery_stats_views.xml",
    ],
    "installable": True,
    "auto_install": True,
}
