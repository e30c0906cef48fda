"""axe-core on every page a browser journey visits: 0 serious or critical violations (WCAG 2.2 AA).

`watch(context, into)` puts axe into every page of a browser context. Each page loads it once loaded
(from an address the test's route answers, so the page's own load is not slowed) and reports through a
binding; before the browser leaves a page (a navigation request of its main frame) the request waits for
that page's report (LEAVING_S at most), and `finish` waits for the pages still open when the test ends.
So the pages a journey walks through are checked as the user left them (menus open, forms filled), and a
journey needs no extra step; a page left before its check ended is listed in the report.

LOUDOU_AXE_REPORT=<file> appends one JSON line per checked page (url, width, language, violations of
every impact) for the before/after notes.
"""

import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

from playwright.sync_api import BrowserContext, Error, Page, Request, Route

AXE_JS = Path(__file__).resolve().parent / "vendor" / "axe.min.js"
AXE_PATH = "/__loudou_axe__/axe.min.js"  # answered by the test's route, never by the app
BLOCKING = ("serious", "critical")
# How long the end of a test waits for its open pages' checks; a loaded two-core machine needs ~1 s a page.
WAIT_S = 10
# How long leaving a page waits for its check: enough for most pages, short enough that a click's own
# timeout (which waits for the navigation it starts) is never at risk. A page left sooner is listed as
# not checked in the report, not failed: another visit of the same page in some journey checks it.
LEAVING_S = 2

# Each document names itself when it starts and reports its one axe run once loaded.
RUNNER = """
(() => {
  if (window.top !== window || !location.protocol.startsWith("http")) return;
  const doc = Math.random().toString(36).slice(2);
  window.loudouAxeStarted(doc);
  const run = () => {
    const started = performance.now();
    window.axe.run(document, { resultTypes: ["violations"] }).then(
      (result) => window.loudouAxeReport({
        doc,
        url: location.pathname + location.search,
        lang: document.documentElement.lang,
        width: window.innerWidth,
        ms: Math.round(performance.now() - started),
        violations: result.violations.map((v) => ({
          id: v.id,
          impact: v.impact,
          help: v.help,
          nodes: v.nodes.length,
          targets: v.nodes.slice(0, 5).map((n) => n.target.join(" ")),
        })),
      }),
      (error) => window.loudouAxeReport({ doc, url: location.pathname, error: String(error) }),
    );
  };
  window.addEventListener("load", () => {
    const script = document.createElement("script");
    script.src = "AXE_PATH";
    script.onload = run;
    script.onerror = () => window.loudouAxeReport({ doc, url: location.pathname, error: "axe did not load" });
    document.head.appendChild(script);
  });
})();
""".replace("AXE_PATH", AXE_PATH)


@dataclass
class Watch:
    results: list[dict] = field(default_factory=list)
    current: dict[Page, str] = field(default_factory=dict)  # each page's document now
    reported: set[str] = field(default_factory=set)
    unchecked: list[str] = field(default_factory=list)
    left_early: list[str] = field(default_factory=list)

    def wait(self, page: Page, seconds: float = WAIT_S, leaving: bool = False) -> None:
        """Until the page's document has reported (a page that never started axe has nothing to wait for)."""
        doc = self.current.get(page)
        deadline = time.monotonic() + seconds
        while doc and doc not in self.reported:
            if time.monotonic() > deadline:
                (self.left_early if leaving else self.unchecked).append(page.url)
                return
            try:
                page.wait_for_timeout(25)  # lets the binding's calls in
            except Error:  # closed
                return

    def failures(self) -> list[str]:
        lines = [f"{url}: no axe result within {WAIT_S} s" for url in self.unchecked]
        for result in self.results:
            if "error" in result:
                lines.append(f"{result['url']}: axe failed: {result['error']}")
                continue
            lines += [
                f"{result['url']} ({result['width']} px, {result['lang']}): {v['impact']} {v['id']} ×{v['nodes']}"
                f" — {v['help']}: {', '.join(v['targets'])}"
                for v in result["violations"]
                if v["impact"] in BLOCKING
            ]
        return lines

    def report(self, test: str) -> None:
        path = os.environ.get("LOUDOU_AXE_REPORT")
        if not path:
            return
        with open(path, "a", encoding="utf-8") as out:
            for result in self.results:
                out.write(json.dumps({"test": test, **result}, ensure_ascii=False) + "\n")
            for url in self.left_early:
                out.write(json.dumps({"test": test, "url": url, "left_before_checked": True}) + "\n")


def watch(context: BrowserContext, into: Watch) -> None:
    def started(source: dict, doc: str) -> None:
        into.current[source["page"]] = doc

    def reported(source: dict, result: dict) -> None:
        into.reported.add(result.pop("doc"))
        into.results.append(result)

    def before_leaving(route: Route, request: Request) -> None:
        if request.is_navigation_request() and request.frame.parent_frame is None:
            into.wait(request.frame.page, LEAVING_S, leaving=True)
        route.fallback()

    context.expose_binding("loudouAxeStarted", started)
    context.expose_binding("loudouAxeReport", reported)
    context.add_init_script(script=RUNNER)
    context.route(f"**{AXE_PATH}", lambda route: route.fulfill(path=AXE_JS, content_type="text/javascript"))
    # Static files never start a page: left out, they cost no round trip through the test.
    context.route(lambda url: "/static/" not in url and AXE_PATH not in url, before_leaving)


def finish(context: BrowserContext, into: Watch) -> None:
    for page in context.pages:
        into.wait(page)
