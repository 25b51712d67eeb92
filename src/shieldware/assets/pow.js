/* shieldware interstitial: checks cookies work, runs the proof of work in Web Workers, then hands
 * the answer to the verify endpoint, which sets the clearance cookie and redirects back. */
"use strict";
(function () {
  var root = document.getElementById("sw-pow");
  if (!root) return;
  var status = document.getElementById("sw-status");
  var bar = document.getElementById("sw-progress");
  var d = root.dataset;
  var count = parseInt(d.count, 10), bits = parseInt(d.bits, 10);
  var expected = count * Math.pow(2, bits);

  function say(text, alert) {
    status.textContent = text;
    if (alert) { status.setAttribute("role", "alert"); status.className = "sw-alert"; }
  }

  // 1. Cookies: without them the check would repeat forever, so say so instead of looping.
  var loopKey = "sw-pow-tries:" + d["return"];
  var cookiesWork = navigator.cookieEnabled;
  if (cookiesWork) {
    document.cookie = "sw_pow_probe=1; path=/; SameSite=Lax";
    cookiesWork = document.cookie.indexOf("sw_pow_probe=1") !== -1;
    document.cookie = "sw_pow_probe=; path=/; max-age=0; SameSite=Lax";
  }
  var tries = [];
  try {
    tries = JSON.parse(sessionStorage.getItem(loopKey) || "[]").filter(function (t) {
      return Date.now() - t < 120000;
    });
  } catch (e) { tries = []; }
  if (!cookiesWork || tries.length >= 3) { say(d.msgCookies, true); return; }


  // Automation tells (docs/proof-of-work.md, "Automation tells"): a few openly documented values
  // the verify endpoint compares with the request's own headers. No canvas, fonts, audio, screen
  // or time zone: nothing here tells one person from another.
  var tells = collectTells();

  // 2. Work: sub-puzzles dealt round-robin to an integer number of workers.
  var cores = parseInt(navigator.hardwareConcurrency, 10) || 2;
  var workers = Math.max(1, Math.min(count, Math.floor(cores / 2)));
  var nonces = new Array(count), solved = 0, hashes = 0, started = performance.now();
  var pool = [];

  function fail(message) {
    pool.forEach(function (w) { w.terminate(); });
    say(d.msgFailed, true);
    if (window.console) console.warn("shieldware:", message);
  }

  function finish() {
    pool.forEach(function (w) { w.terminate(); });
    var ms = performance.now() - started;
    try {
      tries.push(Date.now());
      sessionStorage.setItem(loopKey, JSON.stringify(tries));
      sessionStorage.setItem("sw-pow-stats", JSON.stringify({ hashes: hashes, ms: ms, workers: workers }));
    } catch (e) { /* storage disabled: the cookie probe above still guards the loop */ }
    bar.value = count;
    say(d.msgVerifying);
    if (replayForm(d.challenge + ";" + nonces.join(","))) return;
    var url = d.verify + "?c=" + encodeURIComponent(d.challenge) + "&s=" + nonces.join(",") +
      "&r=" + encodeURIComponent(d["return"]) + "&t=" + tells.encode();
    window.location.replace(url);
  }

  function onMessage(event) {
    var m = event.data;
    if (m.type === "progress") {
      hashes += m.hashes;
      // an estimate between finished sub-puzzles, never behind them and never a full step ahead
      var estimate = (hashes / expected) * count;
      bar.value = Math.max(solved, Math.min(solved + 0.99, estimate, count - 0.01));
    } else if (m.type === "done") {
      if (nonces[m.index] === undefined) { nonces[m.index] = m.nonce; solved++; }
      bar.value = solved;
      if (solved === count) finish();
    } else if (m.type === "tells") {
      tells.worker(m.env);
    } else if (m.type === "error") {
      fail(m.message);
    }
  }

  try {
    for (var n = 0; n < workers; n++) {
      var indices = [];
      for (var i = n; i < count; i += workers) indices.push(i);
      var worker = new Worker(d.worker);
      worker.onmessage = onMessage;
      worker.onerror = function (e) { fail(e.message || "worker failed"); };
      pool.push(worker);
      worker.postMessage({ cid: d.challenge.split(".")[1], indices: indices, bits: bits });
    }
  } catch (e) {
    fail(String(e));
    return;
  }
  say(d.msgSolving);

  // No lost forms: a challenged form post is carried in the page; send it again with the answer.
  function replayForm(answer) {
    var form = document.getElementById("sw-replay");
    if (!form) return false;
    document.getElementById("sw-replay-answer").value = answer;
    form.submit();
    return true;
  }
})();

/* The page's half of the automation tells: {v: 1, ...} as base64url JSON, strings cut short.
 * Field names are the server's (src/shieldware/pow/tells.py); the worker adds its own navigator
 * ("w") when it starts. Every probe is guarded: a missing API reads as "not reported". */
function collectTells() {
  var n = navigator, r = { v: 1 }, workerSeen = false;
  function text(v, max) { return typeof v === "string" ? v.slice(0, max || 80) : undefined; }
  function env(nav) {
    var o = { ua: text(nav.userAgent, 512), pf: text(nav.platform), hc: nav.hardwareConcurrency };
    try { o.lg = Array.prototype.slice.call(nav.languages || [], 0, 12).map(function (l) { return text(l, 35); }); } catch (e) { /* absent */ }
    var uad = nav.userAgentData;
    if (uad) {
      o.b = (uad.brands || []).slice(0, 12).map(function (b) { return [text(b.brand), text(b.version, 40)]; });
      o.bp = text(uad.platform);
      o.bm = uad.mobile;
    }
    return o;
  }
  try {
    var page = env(n);
    for (var k in page) r[k] = page[k];
    r.wd = n.webdriver;
    r.sc = window.isSecureContext;
    r.ch = !!window.chrome;
    r.pl = n.plugins ? n.plugins.length : undefined;
    r.mt = n.mimeTypes ? n.mimeTypes.length : undefined;
    r.pdf = n.pdfViewerEnabled;
    r.o = [window.outerWidth, window.outerHeight];
    if (typeof Notification !== "undefined") r.np = Notification.permission;
    if (n.permissions && n.permissions.query) {
      n.permissions.query({ name: "notifications" }).then(function (p) { r.pq = p.state; }, function () {});
    }
  } catch (e) { /* a throwing getter is itself unusual; report what we have */ }
  return {
    worker: function (w) {
      if (workerSeen || !w) return;
      workerSeen = true;
      r.w = w;
      r.wa = w.wa;
      r.cs = w.cs;
    },
    encode: function () {
      try {
        var json = JSON.stringify(r);
        return btoa(unescape(encodeURIComponent(json))).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
      } catch (e) { return ""; }
    }
  };
}
