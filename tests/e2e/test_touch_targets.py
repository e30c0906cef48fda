"""Targets a finger can hit (WCAG 2.2, 2.5.8): on a 390 px phone, every control on the main pages is at
least 24×24 px, and the primary actions at least 44 px tall.

Measured in the browser from each visible control's box. As WCAG allows, a link inside a sentence is
left out (the line's height sets its size), and a checkbox or radio counts with its label, which a
tap on also ticks. LOUDOU_TARGETS_REPORT=<file> writes the smallest target per page, for the notes.
"""

import json
import os
from decimal import Decimal
from pathlib import Path

import pytest
from django.urls import reverse
from playwright.sync_api import Page

from tests.factories import AccountFactory, ContactFactory, OpportunityFactory

MINIMUM = 24
PRIMARY = 44
# Buttons that carry a page's main action on a phone: Bootstrap's primary and success buttons.
PRIMARY_SELECTOR = ".btn-primary, .btn-success"

MEASURE = (Path(__file__).resolve().parent / "targets.js").read_text()


@pytest.fixture
def desk(pipeline, rep):
    """A rep's ordinary book: a customer with a contact, deals in two stages."""
    stages = {stage.name: stage for stage in pipeline.stages.all()}
    account = AccountFactory(owner=rep, name="Harbour Logistics")
    ContactFactory(account=account, name="Chen Jing")
    deal = OpportunityFactory(owner=rep, account=account, stage=stages["Proposal"], amount=Decimal(80000))
    OpportunityFactory(owner=rep, stage=stages["Qualified"], name="Cold store racks")
    return {"account": account, "deal": deal}


def sideways(page: Page) -> int:
    """How far the page scrolls sideways on the phone (a wide table scrolls inside its own box instead)."""
    return page.evaluate("document.documentElement.scrollWidth - window.innerWidth")


def measure(page: Page) -> list[dict]:
    return page.evaluate(MEASURE, {"primarySelector": PRIMARY_SELECTOR})


def test_every_control_on_the_main_phone_pages_is_big_enough_to_tap(
    phone_page, live_server, rep, desk, password, login
):
    page = phone_page
    login(page, live_server, rep, password)
    pages = [
        reverse("funnel:home"),
        reverse("insights:dashboard"),
        reverse("opportunities:list"),
        reverse("opportunities:detail", args=[desk["deal"].pk]),
        reverse("opportunities:board"),
        reverse("opportunities:create"),
        reverse("customers:list"),
        reverse("customers:detail", args=[desk["account"].pk]),
        reverse("log:today"),
        reverse("log:activity_new"),
        reverse("health:alert_list"),
        reverse("reps:preferences"),
        reverse("planning:person_plan", args=[rep.pk]),
        reverse("log:quality"),
        reverse("notifications:list"),
        reverse("search:results") + "?q=Harbour",
        reverse("insights:marketing"),
    ]
    smallest, problems = {}, []
    for path in pages:
        page.goto(live_server.url + path)
        page.wait_for_load_state("load")
        found = measure(page)
        assert found, f"{path}: no control measured"
        if sideways(page):
            problems.append(f"{path}: the page scrolls sideways ({sideways(page)} px)")
        small = min(found, key=lambda target: min(target["width"], target["height"]))
        smallest[path] = {**small, "controls": len(found)}
        for target in found:
            if min(target["width"], target["height"]) < MINIMUM:
                problems.append(f"{path}: {target['what']} is {target['width']}×{target['height']} px")
            if target["primary"] and target["height"] < PRIMARY:
                problems.append(f"{path}: primary {target['what']} is {target['height']} px tall (< {PRIMARY})")
    if os.environ.get("LOUDOU_TARGETS_REPORT"):
        with open(os.environ["LOUDOU_TARGETS_REPORT"], "w", encoding="utf-8") as out:
            json.dump(smallest, out, ensure_ascii=False, indent=1)
    assert not problems, f"{len(problems)} problems on a 390 px phone:\n" + "\n".join(problems)


def test_the_managers_new_phone_pages_are_big_enough_to_tap(
    phone_page, live_server, manager, rep, teammate, desk, password, login
):
    for amount in (4_931_800, 5_260_400):  # a team of two with a pipeline in millions: the load table's width
        OpportunityFactory(owner=teammate, amount=Decimal(amount), name="Warehouse automation, phase two")
    page = phone_page
    login(page, live_server, manager, password)
    problems = []
    for path in [
        reverse("balance:page"),
        reverse("planning:team_plan", args=[rep.team_id]),
        reverse("planning:person_plan", args=[rep.pk]),
        reverse("log:quality"),
        reverse("insights:marketing"),
    ]:
        page.goto(live_server.url + path)
        page.wait_for_load_state("load")
        found = measure(page)
        assert found, f"{path}: no control measured"
        if sideways(page):
            problems.append(f"{path}: the page scrolls sideways ({sideways(page)} px)")
        problems += [
            f"{path}: {target['what']} is {target['width']}×{target['height']} px"
            for target in found
            if min(target["width"], target["height"]) < MINIMUM
        ]
    assert not problems, f"{len(problems)} problems on a 390 px phone:\n" + "\n".join(problems)
