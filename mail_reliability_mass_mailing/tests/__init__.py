# Copyright 2026 mail_reliability contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).

from . import test_module_install
from . import test_mailing_trace_failures
from . import test_mailing_bounces
from . import test_urgent_vs_queued
from . import test_mailing_queue
from . import test_mailing_retention
from . import test_delivery_issue
from . import test_bulk_sender
from . import test_campaign_send_path
from . import test_attachment_parts
