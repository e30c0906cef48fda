from datetime import UTC, datetime

import pytest


@pytest.fixture
def shanghai_rep(rep):
    """R1, eight hours ahead of UTC, a member since January (so every day since then is owed a log)."""
    rep.time_zone = "Asia/Shanghai"
    rep.date_joined = datetime(2026, 1, 5, tzinfo=UTC)
    rep.save()
    return rep
