// The service worker (issue 16), served from /sw.js by activity_log.offline.views.service_worker, which
// prepends LOUDOU_VERSION, LOUDOU_OUTBOX_SCRIPT and LOUDOU_STATIC.
//
// - Static files: from the cache first (their names change with their content in production).
// - The field pages (home, the day, the visit form, the customers list, a deal) and the offline book: from the
//   network when it answers, kept in the signed-in user's cache; from that cache when it does not.
// - Picker searches (/pick/customer/ …) with no network: answered from the cached book.
// - Everything else, and every POST, goes to the network untouched (the outbox handles the forms it queues).
// A user's cache is named with their key (never their id); it is deleted at sign-out and whenever a page says
// someone else, or no one, is signed in: one person's pages are never shown to another.
/* global LOUDOU_VERSION, LOUDOU_OUTBOX_SCRIPT, LOUDOU_STATIC, LoudouOutbox */
"use strict";

const STATIC_CACHE = `loudou-static-${typeof LOUDOU_VERSION === "string" ? LOUDOU_VERSION : "dev"}`;
const PAGES = "loudou-pages-"; // + the user's key
const META = "loudou-meta";
const USER_ENTRY = "/offline/current-user";
const STATE_URL = "/offline/state/";
const BOOK_URL = "/offline/book/";
const FIELD_PAGES = [
  /^\/$/,
  /^\/log\/$/,
  /^\/log\/day\/\d{4}-\d{2}-\d{2}\/$/,
  /^\/log\/activity\/new\/$/,
  /^\/customers\/$/,
  /^\/opportunities\/\d+\/$/,
  /^\/offline\/book\/$/,
];
const PICKERS = /^\/pick\/(customer|opportunity|contact)\/$/;
const PICK_LIMIT = 20;

// What the worker does with a request: "static", "page", "pick" or "network" (left alone).
function route(url, method, origin) {
  if (method !== "GET" || url.origin !== origin) return "network";
  const staticRoot = typeof LOUDOU_STATIC === "string" ? LOUDOU_STATIC : "/static/";
  if (url.pathname.startsWith(staticRoot)) return "static";
  if (FIELD_PAGES.some((pattern) => pattern.test(url.pathname))) return "page";
  if (PICKERS.test(url.pathname)) return "pick";
  return "network";
}

// The book's matches for a picker search, as the server's <option>s (funnel.search.pickers.render_options).
function pickOptions(book, url) {
  const source = PICKERS.exec(url.pathname)[1];
  const field = url.searchParams.get("field") || "";
  const query = (url.searchParams.get(`${field}__q`) || "").trim().toLocaleLowerCase();
  const account = Number(url.searchParams.get("account")) || null;
  const chosen = url.searchParams.get(field) || "";
  const rows = source === "customer" ? book.customers : source === "opportunity" ? book.opportunities : book.contacts;
  const matches = rows
    .filter((row) => source === "customer" || !account || row[2] === account)
    .filter((row) => !query || row[1].toLocaleLowerCase().includes(query))
    .slice(0, PICK_LIMIT);
  const label = (row) => (source === "customer" || account ? row[1] : `${row[1]} · ${row[3]}`);
  const escape = (text) => String(text).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
  const picked = matches.find((row) => String(row[0]) === chosen) || (query ? matches[0] : null);
  const options = matches.map((row) => {
    const selected = row === picked ? " selected" : "";
    return `<option value="${row[0]}"${selected}>${escape(label(row))}</option>`;
  });
  const empty = escape(book.choose || "…");
  return `<option value=""${picked ? "" : " selected"} data-status="">${empty}</option>${options.join("")}`;
}

if (typeof module === "object") {
  module.exports = { route, pickOptions, FIELD_PAGES }; // for tests/activity_log/test_service_worker.py (node)
} else {
  importScripts(LOUDOU_OUTBOX_SCRIPT);
  let currentUser = null;

  const userCache = async () => {
    if (currentUser === null) {
      const entry = await (await caches.open(META)).match(USER_ENTRY);
      currentUser = entry ? await entry.text() : "";
    }
    return currentUser ? caches.open(PAGES + currentUser) : null;
  };

  // The signed-in user (a page says who): every other user's pages are deleted.
  const setUser = async (key) => {
    currentUser = key;
    await (await caches.open(META)).put(USER_ENTRY, new Response(key));
    for (const name of await caches.keys()) {
      if (name.startsWith(PAGES) && name !== PAGES + key) await caches.delete(name);
    }
  };

  // Fetches the field pages (and the page's static files) into the user's cache, while online.
  // Resolves true when every page was stored.
  const warm = async (key, pages, assets) => {
    if (!key || key !== currentUser) return false;
    const statics = await caches.open(STATIC_CACHE);
    for (const url of assets) {
      if (!(await statics.match(url))) await statics.add(url).catch(() => null);
    }
    const cache = await caches.open(PAGES + key);
    let complete = true;
    for (const url of pages) {
      try {
        const response = await fetch(url, { credentials: "same-origin" });
        if (response.ok && !response.redirected) await cache.put(url, response);
        else complete = false;
      } catch (error) {
        return false; // offline again: what is cached stays
      }
    }
    return complete;
  };

  const fromStatic = async (request) => {
    const cache = await caches.open(STATIC_CACHE);
    const cached = await cache.match(request);
    if (cached) return cached;
    const response = await fetch(request);
    if (response.ok) await cache.put(request, response.clone());
    return response;
  };

  // A page from the cache says so (<html data-from-cache>): its forms' idempotency keys were used when it was
  // cached, so the page gives them fresh ones.
  const marked = async (response) => {
    if (!(response.headers.get("Content-Type") || "").includes("text/html")) return response;
    const html = (await response.text()).replace("<html ", '<html data-from-cache="1" ');
    return new Response(html, { status: response.status, statusText: response.statusText, headers: response.headers });
  };

  const page = async (request) => {
    const cache = await userCache();
    try {
      const response = await fetch(request);
      // A redirect (to the sign-in page) or an error is never kept in place of the page.
      if (cache && response.ok && !response.redirected) await cache.put(request, response.clone());
      return response;
    } catch (error) {
      const cached = cache && (await cache.match(request, { ignoreVary: true }));
      if (cached) return marked(cached);
      // The visit form from a plan item not opened online: the plain form.
      const plain = cache && (await cache.match(new URL(request.url).pathname, { ignoreVary: true }));
      if (plain) return marked(plain);
      throw error;
    }
  };

  const pick = async (request) => {
    try {
      return await fetch(request);
    } catch (error) {
      const cache = await userCache();
      const cached = cache && (await cache.match(BOOK_URL, { ignoreVary: true }));
      if (!cached) throw error;
      const html = pickOptions(await cached.json(), new URL(request.url));
      return new Response(html, { headers: { "Content-Type": "text/html; charset=utf-8" } });
    }
  };

  const tellPages = async (message) => {
    for (const client of await self.clients.matchAll({ type: "window" })) client.postMessage(message);
  };

  self.addEventListener("install", () => self.skipWaiting());

  self.addEventListener("activate", (event) => {
    event.waitUntil(
      (async () => {
        for (const name of await caches.keys()) {
          if (name.startsWith("loudou-static-") && name !== STATIC_CACHE) await caches.delete(name);
        }
        await self.clients.claim();
      })(),
    );
  });

  self.addEventListener("fetch", (event) => {
    const url = new URL(event.request.url);
    const kind = route(url, event.request.method, self.location.origin);
    if (kind === "static") event.respondWith(fromStatic(event.request));
    else if (kind === "page") event.respondWith(page(event.request));
    else if (kind === "pick") event.respondWith(pick(event.request));
  });

  self.addEventListener("message", (event) => {
    const data = event.data || {};
    if (data.type === "user") {
      event.waitUntil(
        setUser(data.key || "").then(async () => {
          const complete = await warm(data.key, data.warm || [], data.assets || []);
          await tellPages({ type: "warmed", key: data.key, complete, base: Boolean(data.base) });
        }),
      );
    }
  });

  // Background Sync: the outbox is sent when the browser has a network again, even with no page open.
  self.addEventListener("sync", (event) => {
    if (event.tag === "loudou-outbox") {
      event.waitUntil(LoudouOutbox.flush(STATE_URL).then((summary) => tellPages({ type: "outbox", summary })));
    }
  });
}
