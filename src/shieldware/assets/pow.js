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
      "&r=" + encodeURIComponent(d["return"]);
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
