# Copyright 2026 mail_reliability contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).

from . import test_module_install
from . import test_smtp_sink
from . import test_mail_mail_outcomes
from . import test_mail_mail_concurrency
from . import test_cron_guard
from . import test_smtp_status
from . import test_retry_policy
from . import test_quota_window
from . import test_quota
from . import test_dsn
from . import test_mail_incoming
from . import test_retention
from . import test_mail_vacuum
from . import test_res_config_settings
from . import test_dns_checks
from . import test_health_rules
from . import test_logging_handler
from . import test_mail_health_check
from . import test_mail_support_bundle
from . import test_downloads
from . import test_resend_wizard
from . import test_ui_envelope
from . import test_chatter_queries
from . import test_bench_report
from . import test_bad_input_soak
from . import test_access
from . import test_secrets
from . import test_mail_input
from . import test_fuzz_tools
from . import test_fuzz_gateway
from . import test_fuzz_outgoing
from . import test_fuzz_controllers
