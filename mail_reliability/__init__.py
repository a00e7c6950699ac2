# Copyright 2026 mail_reliability contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).

from . import controllers
from . import models
from . import tools
from . import wizard

from .logging_handler import install_from_config as post_load
