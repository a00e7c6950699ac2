# Copyright 2026 mail_reliability contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).

from . import mail_mail
from . import mailing_trace
from . import mail_thread
from . import mail_compose_message
from . import mailing_mailing
from . import mail_delivery_stats
from . import mail_delivery_issue
from . import mail_health_check
