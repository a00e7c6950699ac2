# Copyright 2026 mail_reliability contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).

from . import mail_mail_retry_wizard
from . import mail_quota_facts_wizard
from . import mail_quota_saver_wizard
from . import mail_support_bundle
from . import mail_log_search
from . import mail_resend_message
from . import mail_resend_partner
