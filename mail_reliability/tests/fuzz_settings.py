# Copyright 2026 mail_reliability contributors
# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl).
"""How hard the fuzz tests (``test_fuzz_*.py``) try.

``bin/test`` runs them with the ``mr_ci`` Hypothesis profile and a fixed seed:
the same examples every run, a few seconds per property, no ``.hypothesis``
directory written.  ``bin/test-fuzz --minutes N`` sets ``MR_FUZZ_PROFILE=long``,
``MR_FUZZ_MINUTES=N`` and a random ``MR_FUZZ_SEED`` (printed, so a failure can be
replayed with the same seed): many more examples, new ones each run.
"""

import functools
import os
import time

from hypothesis import HealthCheck, settings

LONG = os.environ.get("MR_FUZZ_PROFILE") == "long"
try:
    MINUTES = max(float(os.environ.get("MR_FUZZ_MINUTES") or 0), 0.0)
except ValueError:
    MINUTES = 0.0
try:
    SEED = int(os.environ.get("MR_FUZZ_SEED") or 20261201)
except ValueError:
    SEED = 20261201

_COMMON = {
    "deadline": None,
    "database": None,
    "suppress_health_check": list(HealthCheck),
    "print_blob": True,
}
settings.register_profile("mr_ci", derandomize=True, max_examples=50, **_COMMON)
settings.register_profile("mr_long", derandomize=False, max_examples=200, **_COMMON)
PROFILE = settings.get_profile("mr_long" if LONG else "mr_ci")
# Shares of a long run's --minutes: properties, gateway, outgoing queue, controllers.
PROPERTY_SHARE = 0.3
_properties = []


def fuzz_settings(ci_examples=None):
    """Settings of a property: in ``bin/test``, the ``mr_ci`` profile (``ci_examples``
    lowers the count of a slow property); in a long run, rounds of 200 new examples
    until the property's share of the time budget is spent."""
    if not LONG:
        return settings(PROFILE, max_examples=ci_examples or PROFILE.max_examples)

    def decorate(test):
        test = settings(PROFILE)(test)
        _properties.append(test)

        @functools.wraps(test)
        def rounds(*args, **kwargs):
            stop = time.monotonic() + PROPERTY_SHARE * MINUTES * 60 / len(_properties)
            test(*args, **kwargs)
            while time.monotonic() < stop:
                test(*args, **kwargs)  # a new random seed each round

        return rounds

    return decorate


def budget(ci_count, share=0.25):
    """``(count, deadline)`` of a seeded loop: ``ci_count`` items in ``bin/test``; in
    a long run, as many as ``share`` of the ``--minutes`` budget allows."""
    if not LONG:
        return ci_count, None
    return 10**9, time.monotonic() + share * MINUTES * 60
