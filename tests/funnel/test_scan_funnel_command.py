"""`scan_funnel --every SECONDS`: the in-process schedule of the demo without Redis (make run)."""

import signal

import pytest
from django.core.management import CommandError, call_command
from django.db import OperationalError

from funnel.management.commands import _every
from funnel.management.commands import scan_funnel as command

pytestmark = pytest.mark.django_db


@pytest.fixture
def sleeps(monkeypatch) -> list[float]:
    """time.sleep stubbed: records how long the loop would have slept."""
    slept = []
    monkeypatch.setattr(_every.time, "sleep", slept.append)
    return slept


@pytest.fixture
def scans(monkeypatch) -> list[int]:
    """Counts the scans the command runs, each still the real scan."""
    ran = []
    real = command.scan_funnel

    def counted(*args, **kwargs):
        ran.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(command, "scan_funnel", counted)
    return ran


def test_every_scans_prints_a_line_and_sleeps_between_scans(pipeline, sleeps, scans, capsys):
    call_command("scan_funnel", every=1, times=2)
    lines = capsys.readouterr().out.splitlines()
    assert len(scans) == 2 and sleeps == [1]
    assert len(lines) == 2 and all("stalled 0/0/0" in line and "missing_log" in line for line in lines)


def test_ctrl_c_stops_the_loop_cleanly(pipeline, scans, capsys, monkeypatch):
    def interrupted(seconds):
        raise KeyboardInterrupt

    monkeypatch.setattr(_every.time, "sleep", interrupted)
    call_command("scan_funnel", every=900)  # would run for ever
    assert len(scans) == 1
    assert capsys.readouterr().out.splitlines()[-1] == "Funnel-health scans stopped."


def test_a_failed_scan_is_reported_and_the_next_one_runs(pipeline, sleeps, capsys, monkeypatch):
    outcomes = [OperationalError("database is locked"), {"stalled": (1, 0, 0)}]

    def flaky():
        outcome = outcomes.pop(0)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    monkeypatch.setattr(command, "scan_funnel", flaky)
    call_command("scan_funnel", every=5, times=2)
    captured = capsys.readouterr()
    assert "scan failed: database is locked" in captured.err
    assert "stalled 1/0/0" in captured.out and sleeps == [5]


def test_the_loop_puts_back_the_sigterm_handler(pipeline, sleeps):
    before = signal.getsignal(signal.SIGTERM)
    call_command("scan_funnel", every=1, times=1)
    assert signal.getsignal(signal.SIGTERM) is before


@pytest.mark.parametrize("options", [{"every": 0}, {"every": 5, "times": 0}])
def test_every_and_times_must_be_positive(options, pipeline):
    with pytest.raises(CommandError):
        call_command("scan_funnel", **options)


def test_without_every_the_command_scans_once_and_prints_the_table(pipeline, sleeps, scans, capsys):
    call_command("scan_funnel")
    assert len(scans) == 1 and sleeps == []
    assert capsys.readouterr().out.splitlines()[0].split() == ["kind", "new", "seen", "resolved"]
