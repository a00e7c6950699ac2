# Copyright 2026 mail_reliability contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""Names shared by both addons: cron XML ids and failure types.

Plain values, no Odoo import. Labels and explanations shown to users live
with the code that shows them (translated there); only the technical keys are
here, so a typo in one of them fails at import time instead of silently
matching nothing.
"""

# --- cron jobs (XML ids) ------------------------------------------------------------
QUEUE_CRON_XMLID = "mail.ir_cron_mail_scheduler_action"
MASS_MAILING_QUEUE_CRON_XMLID = "mass_mailing.ir_cron_mass_mailing_queue"
QUOTA_RESET_CRON_XMLID = "mail_reliability.ir_cron_mail_reliability_quota_reset"
VACUUM_CRON_XMLID = "mail_reliability.ir_cron_mail_reliability_vacuum"
HEALTH_CHECK_CRON_XMLID = "mail_reliability.ir_cron_mail_reliability_health_check"

# --- failure types (``failure_type`` of mail.mail, mail.notification, mailing.trace) --
GENERIC = "mail_smtp"  # Odoo's own catch-all bucket
TEMPORARY = "mail_smtp_temporary"
RECIPIENT = "mail_smtp_recipient"
SENDER = "mail_smtp_sender"
POLICY = "mail_smtp_policy"
SIZE = "mail_smtp_size"
QUOTA = "mail_quota"
SPAM_COMPLAINT = "mail_spam_complaint"
EMAIL_INVALID = "mail_email_invalid"
EMAIL_MISSING = "mail_email_missing"

NO_RECIPIENT_TYPES = (EMAIL_INVALID, EMAIL_MISSING)
HARD_FAILURE_TYPES = (RECIPIENT,)
