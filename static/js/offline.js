// The phone's offline state on every page (issue 16), filled into templates/_offline.html: the offline banner,
// the waiting count and the outbox's items, "last synced at", the service worker, and the forms marked
// data-outbox (the visit form, a plan item's done / carry over, a deal's move), which go through the outbox
// (outbox.js): kept on the phone first, then sent; sent later when there is no network. Without script,
// IndexedDB or a service worker, the same forms post as plain forms.
document.addEventListener("DOMContentLoaded", () => {
  "use strict";
  const root = document.getElementById("offline-state");
  if (!root) return;
  const user = root.dataset.user;
  const text = root.querySelector("template[data-strings]").dataset;
  const Outbox = window.LoudouOutbox;
  const usable = Boolean(user && Outbox && window.indexedDB && window.crypto);
  const banner = root.querySelector("[data-offline-banner]");
  const bar = root.querySelector("[data-outbox-bar]");
  const panel = root.querySelector("[data-outbox-panel]");
  const PAGES = "loudou-pages-";
  // A form's address (not form.action: the plan's clear forms have a field named "action").
  const actionOf = (form) => new URL(form.getAttribute("action") || location.href, location.href).href;
  const WARM_EVERY_MS = 10 * 60 * 1000;

  const showNetwork = () => {
    banner.hidden = navigator.onLine;
    render();
  };
  window.addEventListener("offline", showNetwork);
  window.addEventListener("online", () => {
    showNetwork();
    flush();
  });
  banner.hidden = navigator.onLine;

  // --- The service worker and the user's caches ---------------------------------------------------------------
  const clearPages = async () => {
    if (!window.caches) return;
    for (const name of await caches.keys()) if (name.startsWith(PAGES)) await caches.delete(name);
  };

  const warmList = () => {
    const stamp = `loudou-warm-${user}`;
    const due = Date.now() - Number(localStorage.getItem(stamp) || 0) > WARM_EVERY_MS;
    const page = [...document.querySelectorAll("a[data-offline-url]")].map((link) => link.getAttribute("href"));
    const base = due ? root.dataset.warmUrls.split(" ").filter(Boolean) : [];
    return { base: due, pages: [...new Set([...base, ...page])] };
  };

  const assets = () =>
    [...document.querySelectorAll("link[rel=stylesheet][href], script[src], link[rel=icon][href]")].map(
      (node) => node.getAttribute("href") || node.getAttribute("src"),
    );

  const startWorker = async () => {
    if (!("serviceWorker" in navigator)) return;
    if (!user) {
      // No one is signed in: nobody's pages stay on this browser (the worker itself holds nothing personal).
      const registration = await navigator.serviceWorker.getRegistration();
      registration?.active?.postMessage({ type: "user", key: "" });
      await clearPages();
      return;
    }
    navigator.serviceWorker.addEventListener("message", (event) => {
      const data = event.data || {};
      if (data.type === "warmed" && data.key === user && data.complete) {
        if (data.base) localStorage.setItem(`loudou-warm-${user}`, String(Date.now()));
        document.documentElement.dataset.offlineReady = "1";
      }
      if (data.type === "outbox") afterFlush(data.summary || {});
    });
    await navigator.serviceWorker.register(root.dataset.swUrl, { scope: "/" });
    const registration = await navigator.serviceWorker.ready;
    const { base, pages } = navigator.onLine ? warmList() : { base: false, pages: [] };
    registration.active.postMessage({ type: "user", key: user, warm: pages, base, assets: navigator.onLine ? assets() : [] });
  };
  // No worker (private mode, plain http): the pages still work online. With an outbox, the worker starts after
  // the first send, so its fetches of the field pages do not race the page's own.
  const begin = () => startWorker().catch(() => null);

  // Signing out deletes this user's cached pages first; the outbox stays, listed and sent only for its writer.
  document.addEventListener("submit", async (event) => {
    const form = event.target;
    if (new URL(actionOf(form)).pathname !== root.dataset.logoutUrl) return;
    event.preventDefault();
    try {
      const registration = await navigator.serviceWorker?.getRegistration();
      registration?.active?.postMessage({ type: "user", key: "" });
      await clearPages();
      localStorage.removeItem(`loudou-warm-${user}`);
    } finally {
      form.submit();
    }
  });

  // Install hint (phones only, where the browser offers it).
  const hint = root.querySelector("[data-install-hint]");
  let installing = null;
  window.addEventListener("beforeinstallprompt", (event) => {
    if (localStorage.getItem("loudou-install-dismissed") || !matchMedia("(max-width: 767.98px)").matches) return;
    event.preventDefault();
    installing = event;
    hint.hidden = false;
  });
  hint.querySelector("[data-install]").addEventListener("click", () => {
    hint.hidden = true;
    installing?.prompt();
  });
  hint.querySelector("[data-install-dismiss]").addEventListener("click", () => {
    hint.hidden = true;
    localStorage.setItem("loudou-install-dismissed", "1");
  });

  if (!usable) {
    begin();
    return;
  }

  // --- Queuing the forms -------------------------------------------------------------------------------------------
  if (document.documentElement.dataset.fromCache) {
    document.querySelectorAll("form[data-outbox] input[name=idempotency_key]").forEach((input) => {
      input.value = Outbox.newKey();
    });
  }

  const nowInZone = () => {
    const parts = {};
    const format = new Intl.DateTimeFormat("en-CA", {
      timeZone: root.dataset.timeZone || undefined,
      year: "numeric",
      month: "2-digit",
      day: "2-digit",
      hour: "2-digit",
      minute: "2-digit",
      hourCycle: "h23",
    });
    for (const part of format.formatToParts(new Date())) parts[part.type] = part.value;
    return `${parts.year}-${parts.month}-${parts.day}T${parts.hour}:${parts.minute}`;
  };

  const optionText = (select) => select?.selectedOptions?.[0]?.value ? select.selectedOptions[0].text : "";

  const describe = (form, kind) => {
    if (kind === "visit") {
      const outcome = form.elements.outcome?.value.trim() || "";
      const names = [optionText(form.elements.kind), optionText(form.elements.account)].filter(Boolean);
      return `${names.join(" · ")}${outcome ? ` — ${outcome.slice(0, 80)}` : ""}`;
    }
    if (kind === "move") return `${text.move}: ${form.dataset.outboxLabel} → ${optionText(form.elements.stage)}`;
    const reason = form.elements.reason?.value.trim();
    return `${form.dataset.outboxLabel}${reason ? ` — ${reason}` : ""}`;
  };

  // The form's own idempotency key (a resubmitted form is recorded once), unless an item waiting already has it.
  const keyFor = async (form) => {
    const own = form.dataset.outboxKey || form.elements.idempotency_key?.value;
    if (form.dataset.outboxKey || (own && !(await Outbox.get(own)))) return own;
    return Outbox.newKey();
  };

  const itemFrom = (form, key) => {
    const kind = form.dataset.outbox;
    const when = form.elements.when;
    if (kind === "visit" && when && !when.dataset.touched && !form.dataset.outboxKey) when.value = nowInZone();
    const fields = [];
    const texts = {};
    for (const [name, value] of new FormData(form)) {
      if (name === "csrfmiddlewaretoken" || typeof value !== "string") continue;
      fields.push([name, name === "idempotency_key" ? key : value]);
    }
    if (!fields.some(([name]) => name === "idempotency_key")) fields.push(["idempotency_key", key]);
    form.querySelectorAll("select[name]").forEach((select) => {
      texts[select.name] = optionText(select);
    });
    const day = kind === "visit" && when ? when.value.slice(0, 10) : document.querySelector("[data-outbox-day]")?.dataset.outboxDay;
    return {
      key,
      user,
      kind,
      url: form.dataset.outboxUrl || actionOf(form),
      fields,
      texts,
      label: describe(form, kind),
      day: day || "",
      time: kind === "visit" && when ? when.value.slice(11, 16) : "",
      queuedAt: Date.now(),
      state: "waiting",
      reasons: [],
    };
  };

  const askForSync = async () => {
    try {
      const registration = await navigator.serviceWorker?.ready;
      await registration?.sync?.register("loudou-outbox");
    } catch (error) {
      // No Background Sync here: the page sends on `online` and on every page load.
    }
  };

  document.addEventListener("submit", async (event) => {
    const form = event.target;
    if (!form.matches("form[data-outbox]") || event.defaultPrevented) return;
    if (form.dataset.outbox !== "visit" && !form.checkValidity()) return; // the browser says what is missing
    event.preventDefault();
    const button = event.submitter || form.querySelector("[type=submit]");
    if (button) button.disabled = true;
    const item = itemFrom(form, await keyFor(form));
    await Outbox.put(item); // kept before anything is sent: nothing typed is lost
    askForSync();
    const result = navigator.onLine ? await Outbox.sendNow(item, root.dataset.stateUrl) : { outcome: "offline" };
    if (result.outcome === "sent") {
      await Outbox.discard(item.key);
      const next = new URL(result.url, location.href);
      if (next.pathname + next.search !== location.pathname + location.search) location.assign(next.href);
      else location.reload(); // the same page (a plan item cleared on its day): shown as the server now has it
    } else if (result.outcome === "offline") {
      if (item.kind === "visit") location.assign(root.dataset.todayUrl);
      else render();
    } else if (result.status === 401) {
      await Outbox.put({ ...item, state: "refused", reasons: [], status: 401 });
      render();
      if (button) button.disabled = false;
    } else {
      // Refused while the user is looking: nothing was recorded; the server's own page says why, with the
      // form as typed (posted as a plain form once more).
      await Outbox.discard(item.key);
      form.submit();
    }
  });

  // The visit form: the phone's clock is the visit's time (a page from the cache shows when it was cached); a
  // refused visit opened to be fixed (?outbox=<key>) comes back as it was typed, with the server's reasons.
  const visitForm = document.querySelector("form[data-outbox='visit']");
  const prepareVisit = async () => {
    const when = visitForm.elements.when;
    when?.addEventListener("input", () => {
      when.dataset.touched = "1";
    });
    const key = new URLSearchParams(location.search).get("outbox");
    const item = key ? await Outbox.get(key) : null;
    if (!item || item.user !== user) {
      const bound = visitForm.querySelector(".is-invalid, .alert-danger");
      if (when && !bound) when.value = nowInZone();
      return;
    }
    visitForm.dataset.outboxKey = item.key;
    visitForm.dataset.outboxUrl = item.url;
    if (when) when.dataset.touched = "1";
    for (const [name, value] of item.fields) {
      const field = visitForm.elements[name];
      if (!field || field instanceof RadioNodeList) continue;
      if (field.tagName === "SELECT" && value && ![...field.options].some((option) => option.value === value)) {
        field.add(new Option(item.texts?.[name] || value, value));
      }
      field.value = value;
    }
    if (item.reasons?.length) {
      const alert = document.createElement("div");
      alert.className = "alert alert-danger";
      alert.setAttribute("role", "alert");
      alert.textContent = reasonsOf(item).join(" ");
      visitForm.prepend(alert);
    }
  };
  if (visitForm) prepareVisit();

  // --- Showing the outbox ---------------------------------------------------------------------------------------
  const reasonsOf = (item) => {
    if (item.reasons?.length) return item.reasons;
    if (item.status === 401) return [text.signedOut];
    if (item.status === 403) return [text.forbidden];
    if (item.status === 404) return [text.gone];
    return [];
  };

  const element = (tag, className, content) => {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (content !== undefined) node.textContent = content;
    return node;
  };

  const badge = (item) => {
    const refused = item.state === "refused";
    const node = element("span", `badge ${refused ? "text-bg-danger" : "text-bg-warning"}`, refused ? text.refused : text.waiting);
    node.dataset.outboxState = item.state;
    return node;
  };

  const button = (label, className, action) => {
    const node = element("button", `btn btn-sm ${className}`, label);
    node.type = "button";
    node.addEventListener("click", action);
    return node;
  };

  const panelItem = (item) => {
    const row = element("li", "py-1 border-top");
    row.dataset.outboxItem = item.key;
    row.dataset.testid = "outbox-item";
    const head = element("div", "d-flex flex-wrap gap-2 align-items-center");
    head.append(badge(item), element("span", "text-body-secondary", [item.day, item.time].filter(Boolean).join(" ")));
    head.append(element("span", "", item.label));
    row.append(head);
    const reasons = reasonsOf(item);
    if (item.state === "refused" && reasons.length) row.append(element("div", "text-danger", reasons.join(" ")));
    if (item.state === "refused") {
      const actions = element("div", "d-flex gap-2 mt-1");
      if (item.kind === "visit") {
        const visitUrl = new URL(item.url, location.href);
        visitUrl.search = `?outbox=${item.key}`;
        actions.append(button(text.fix, "btn-outline-dark", () => location.assign(visitUrl.href)));
      }
      actions.append(
        button(text.resend, "btn-outline-secondary", async () => {
          await Outbox.put({ ...item, state: "waiting", reasons: [], status: 0 });
          flush();
        }),
        button(text.discard, "btn-outline-danger", async () => {
          if (!window.confirm(text.discardConfirm)) return;
          await Outbox.discard(item.key);
          render();
        }),
      );
      row.append(actions);
    }
    return row;
  };

  // The day page: queued visits of that day in its list, queued clears and moves on their plan items.
  const markDay = (items) => {
    document.querySelectorAll("[data-outbox-inline]").forEach((node) => node.remove());
    document.querySelectorAll("[data-plan-actions].d-none").forEach((node) => node.classList.remove("d-none"));
    const day = document.querySelector("[data-outbox-day]")?.dataset.outboxDay;
    if (!day) return;
    const visits = items.filter((item) => item.kind === "visit" && item.day === day);
    if (visits.length) {
      const list = element("ol", "timeline small");
      list.dataset.outboxInline = "";
      for (const item of visits) {
        const row = element("li", "");
        row.dataset.testid = "queued-visit";
        row.append(element("strong", "", `${item.time} · ${item.label} `), badge(item));
        list.append(row);
      }
      document.querySelector("#activities h2")?.after(list);
    }
    for (const item of items.filter((one) => one.kind !== "visit")) {
      const form = [...document.querySelectorAll("form[data-outbox]")].find((one) => actionOf(one) === item.url);
      const plan = form?.closest("[data-plan-item]");
      if (!plan) continue;
      plan.querySelector("[data-plan-actions]").classList.add("d-none");
      const note = element("div", "mt-2 small");
      note.dataset.outboxInline = "";
      note.append(badge(item), document.createTextNode(` ${item.label}`));
      plan.append(note);
    }
  };

  let synced = null;
  async function render() {
    const items = await Outbox.list(user);
    root.querySelector("[data-outbox-count]").textContent = String(items.length);
    bar.hidden = !items.length && navigator.onLine;
    const list = panel.querySelector("[data-outbox-items]");
    list.replaceChildren(...items.map(panelItem));
    if (!items.length) panel.hidden = true;
    const at = synced || (await Outbox.lastSync(user));
    const line = root.querySelector("[data-last-synced-line]");
    line.hidden = !at;
    if (at) {
      const time = root.querySelector("[data-last-synced]");
      time.dateTime = new Date(at).toISOString();
      time.textContent = new Date(at).toLocaleString(document.documentElement.lang, {
        month: "numeric",
        day: "numeric",
        hour: "2-digit",
        minute: "2-digit",
      });
    }
    markDay(items);
  }

  root.querySelector("[data-outbox-toggle]").addEventListener("click", (event) => {
    panel.hidden = !panel.hidden;
    event.currentTarget.setAttribute("aria-expanded", String(!panel.hidden));
  });

  // The browser says online but the send found no network (a dead zone's flapping signal, a captive portal):
  // try again shortly rather than wait for the next "online" event or page load.
  let retry = null;
  function afterFlush(summary) {
    if (summary.offline && navigator.onLine && !retry) {
      retry = setTimeout(() => {
        retry = null;
        flush();
      }, 3000);
    }
    root.querySelector("[data-signed-out]").hidden = !summary.signedOut;
    if (!summary.offline && !summary.signedOut) synced = Date.now();
    // What was sent is now the server's: the day shows it as recorded (unless the user is typing there).
    const typing = document.activeElement?.matches?.("input, textarea, select");
    if (summary.sent && document.querySelector("[data-outbox-day]") && !typing) location.reload();
    else render();
  }

  // Asks the server only when something waits: a page load costs no request otherwise.
  async function flush() {
    const waiting = (await Outbox.list(user)).some((item) => item.state === "waiting");
    if (!navigator.onLine || !waiting) return render();
    afterFlush(await Outbox.flush(root.dataset.stateUrl));
  }

  render().then(flush).finally(begin);
});
