# Copyright 2026 mail_reliability contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
{
    "name": "Mail Reliability",
    "summary": "Dependable, diagnosable outgoing and incoming email: failure "
    "classification, retries, quotas, bounces and health checks",
    "version": "18.0.1.1.0",
    "development_status": "Beta",
    "category": "Productivity/Discuss",
    "website": "https://github.com/mail-reliability/mail_reliability",
    "author": "mail_reliability contributors",
    "maintainers": ["mail-reliability"],
    "license": "LGPL-3",
    "depends": ["mail"],
    "external_dependencies": {
        "python": ["dnspython", "flufl.bounce", "publicsuffixlist", "pyspf"],
    },
    "data": [
        "security/ir.model.access.csv",
        "data/ir_config_parameter_data.xml",
        "data/ir_cron_data.xml",
        "wizard/mail_mail_retry_wizard_views.xml",
        "views/mail_mail_views.xml",
        "views/mail_quota_usage_views.xml",
        "wizard/mail_quota_saver_wizard_views.xml",
        "views/ir_mail_server_views.xml",
        "views/res_config_settings_views.xml",
        "data/mail_templates_mailgateway.xml",
        "views/mail_incoming_rejection_views.xml",
        "views/mail_bounce_report_views.xml",
        "wizard/mail_support_bundle_views.xml",
        "views/mail_health_check_views.xml",
        "views/mail_delivery_stats_views.xml",
        "views/mail_delivery_issue_views.xml",
        "wizard/mail_log_search_views.xml",
        "wizard/mail_resend_message_views.xml",
    ],
    "assets": {
        "web.assets_backend": [
            "mail_reliability/static/src/core/common/*",
        ],
        "web.assets_tests": [
            "mail_reliability/static/tests/tours/*",
        ],
    },
    "installable": True,
    "post_load": "post_load",
    "auto_install": False,
}
