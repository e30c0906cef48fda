"""The service worker's routing and offline picker answers (static/js/sw.js), run in Node: which requests it
answers from its caches, and which it leaves to the network (every POST, every page not needed in the field)."""

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from django.conf import settings

NODE = shutil.which("node")
WORKER = Path(settings.BASE_DIR) / "static" / "js" / "sw.js"
pytestmark = pytest.mark.skipif(NODE is None, reason="Node.js is not installed")

ROUTES = {
    ("GET", "/static/vendor/htmx/htmx.min.js"): "static",
    ("GET", "/static/css/loudou.css"): "static",
    ("GET", "/"): "page",
    ("GET", "/log/"): "page",
    ("GET", "/log/day/2026-12-02/"): "page",
    ("GET", "/log/activity/new/?plan_item=7"): "page",
    ("GET", "/customers/"): "page",
    ("GET", "/customers/?page=2"): "page",
    ("GET", "/opportunities/12/"): "page",
    ("GET", "/offline/book/"): "page",
    ("GET", "/pick/customer/?field=account&account__q=hua"): "pick",
    ("GET", "/pick/person/?field=owner"): "network",
    ("GET", "/offline/state/"): "network",
    ("GET", "/dashboard/"): "network",
    ("GET", "/opportunities/12/edit/"): "network",
    ("GET", "/log/activity/3/edit/"): "network",
    ("GET", "/admin/"): "network",
    ("POST", "/log/activity/new/"): "network",
    ("POST", "/log/plan/4/clear/"): "network",
    ("POST", "/accounts/logout/"): "network",
}


def run(script: str):
    code = f"const sw = require({json.dumps(str(WORKER))});\n{script}"
    done = subprocess.run([NODE, "-e", code], capture_output=True, text=True, timeout=30, check=True)  # noqa: S603 - our own script
    return json.loads(done.stdout)


def test_each_request_goes_where_the_worker_routes_it():
    requests = [[method, path] for method, path in ROUTES]
    script = f"""
        const origin = "http://phone.test";
        const routed = {json.dumps(requests)}.map(([method, path]) => sw.route(new URL(path, origin), method, origin));
        console.log(JSON.stringify(routed));
    """
    assert dict(zip(ROUTES, run(script), strict=True)) == ROUTES


def test_another_origin_is_never_cached():
    script = 'console.log(JSON.stringify(sw.route(new URL("http://cdn.test/static/x.js"), "GET", "http://phone.test")))'
    assert run(script) == "network"


BOOK = {
    "choose": "请选择",
    "customers": [[1, "Huawei Ningbo"], [2, "Haier"], [3, "<b>Bold</b> & Co"]],
    "opportunities": [[10, "Robots", 1, "Huawei Ningbo"], [11, "Fridges", 2, "Haier"]],
    "contacts": [[20, "Li Wei", 1, "Huawei Ningbo"]],
}


def pick(path: str) -> str:
    script = (
        f'console.log(JSON.stringify(sw.pickOptions({json.dumps(BOOK)}, new URL({json.dumps(path)}, "http://p.test"))))'
    )
    return run(script)


def test_an_offline_customer_search_matches_inside_names_and_picks_the_first():
    options = pick("/pick/customer/?field=account&account__q=hu&account=")
    assert options == (
        '<option value="" data-status="">请选择</option><option value="1" selected>Huawei Ningbo</option>'
    )


def test_an_offline_search_escapes_names_and_keeps_the_chosen_one():
    options = pick("/pick/customer/?field=account&account__q=&account=3")
    assert '<option value="3" selected>&#60;b&#62;Bold&#60;/b&#62; &#38; Co</option>' in options
    assert options.count("<option") == 4


def test_an_offline_deal_search_lists_the_chosen_customers_deals_only():
    assert ">Robots<" in pick("/pick/opportunity/?field=opportunity&opportunity__q=&account=1")
    assert "Fridges" not in pick("/pick/opportunity/?field=opportunity&opportunity__q=&account=1")
    assert ">Fridges · Haier<" in pick("/pick/opportunity/?field=opportunity&opportunity__q=fri")
