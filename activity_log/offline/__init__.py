"""The offline-first phone (issue 16): the web app manifest, the service worker served from the site root, the
state an outbox asks before it sends (who is signed in, a fresh CSRF token), the rep's book for searching
customers offline, and the receipts that make a resent write harmless.

The browser side is static/js/sw.js (caches, offline pages, offline picker searches, Background Sync),
static/js/outbox.js (the IndexedDB queue and its sending, shared by the pages and the worker) and
static/js/offline.js (the banner, the waiting count, the queued items in the day's lists).
"""
