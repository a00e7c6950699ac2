# Copyright 2026 mail_reliability contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).

from . import ir_config_parameter
from . import ir_cron
from . import ir_mail_server
from . import mail_mail
from . import mail_notification
from . import mail_quota_usage
from . import mail_quota_lease
from . import mail_pacing_window
from . import mail_bounce_report
from . import mail_thread
from . import mail_alias
from . import mail_incoming_rejection
from . import mail_reliability_vacuum
from . import res_config_settings
from . import mail_health_check
from . import mail_message
from . import mail_delivery_issue
from . import res_partner
from . import res_users
from . import fetchmail_server
from . import mail_followers
from . import mail_delivery_stats
