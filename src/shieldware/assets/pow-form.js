/* shieldware form helper: pays a form's per-action proof of work while the person fills it in.
 *
 * Put `shieldware.pow.form.helper_html()` (or the Jinja2 / Django template helpers) inside a form.
 * When the form appears (data-start="load") or on its first focus (data-start="focus"), this
 * script asks /.shieldware/pow/challenge for a challenge bound to the form's action, solves it in
 * Web Workers (pow-worker.js) and, when the form is sent, puts the answer in the hidden field. A
 * person who sends the form before the work is done waits for it; if it cannot run at all, the
 * form is sent as it is and the server answers with its interstitial. No inline script anywhere:
 * it works under `script-src 'self'; worker-src 'self'`.
 *
 * For forms sent with fetch(): `await window.shieldwarePow.answer(form)` gives the value of the
 * `Shieldware-PoW-Answer` header (each answer is good for one request).
 */
"use strict";
(function () {
  if (window.shieldwarePow) return; // included once per form: one helper for the page
  var helpers = [];
  var EARLY = 30000; // refetch a challenge this long before it expires

  function Helper(input) {
    var form = input.form, d = input.dataset;
    this.input = input;
    this.form = form;
    this.d = d;
    this.base = d.shieldwarePow || "/.shieldware/pow/";
    this.status = form.querySelector(".sw-pow-status");
    this.action = d.action || new URL(form.getAttribute("action") || location.href, location.href).pathname;
    this.method = (d.method || form.getAttribute("method") || "POST").toUpperCase();
    this.job = null; // the promise of the current answer
    this.expiresAt = 0;
    this.passing = false;
  }

  Helper.prototype.say = function (text) {
    if (this.status && text) this.status.textContent = text;
  };

  /* The promise of a fresh answer: the one being solved, or a new one. */
  Helper.prototype.start = function () {
    if (this.job && Date.now() < this.expiresAt) return this.job;
    var self = this;
    var url = this.base + "challenge?a=" + encodeURIComponent(this.action) + "&m=" + encodeURIComponent(this.method);
    this.say(this.d.msgPreparing);
    this.expiresAt = Infinity;
    this.job = fetch(url, { credentials: "same-origin", headers: { accept: "application/json" } })
      .then(function (response) {
        if (!response.ok) throw new Error("challenge refused: " + response.status);
        return response.json();
      })
      .then(function (challenge) {
        self.expiresAt = Date.now() + Math.max(1000, challenge.ttl * 1000 - EARLY);
        return solve(challenge, challenge.worker || self.base + "pow-worker.js");
      })
      .then(function (answer) {
        self.say(self.d.msgReady);
        return answer;
      });
    this.job.catch(function (err) {
      self.job = null;
      self.expiresAt = 0;
      if (window.console) console.warn("shieldware:", String(err));
    });
    return this.job;
  };

  /* Take the answer (single use) and start on the next one. */
  Helper.prototype.take = function () {
    var self = this;
    return this.start().then(function (answer) {
      self.job = null;
      self.expiresAt = 0;
      return answer;
    });
  };

  Helper.prototype.onSubmit = function (event) {
    if (this.passing) { this.passing = false; return; }
    var self = this, submitter = event.submitter || null;
    event.preventDefault();
    this.say(this.d.msgWaiting);
    this.take().then(function (answer) {
      self.input.value = answer;
    }, function () {
      self.input.value = ""; // the server will challenge: its interstitial sends the form again
      self.say(self.d.msgFailed);
    }).then(function () {
      // a task later: while this submit event is being dispatched, a new submit is ignored
      setTimeout(function () {
        self.passing = true;
        if (self.form.requestSubmit) self.form.requestSubmit(submitter);
        else self.form.submit();
      }, 0);
    });
  };

  function solve(challenge, workerUrl) {
    return new Promise(function (resolve, reject) {
      var count = challenge.count, bits = challenge.bits;
      var cid = challenge.token.split(".")[1];
      var cores = parseInt(navigator.hardwareConcurrency, 10) || 2;
      var n = Math.max(1, Math.min(count, Math.floor(cores / 2)));
      var nonces = new Array(count), solved = 0, pool = [];
      function stop() { pool.forEach(function (w) { w.terminate(); }); }
      function onMessage(event) {
        var m = event.data;
        if (m.type === "done" && nonces[m.index] === undefined) {
          nonces[m.index] = m.nonce;
          if (++solved === count) { stop(); resolve(challenge.token + ";" + nonces.join(",")); }
        } else if (m.type === "error") {
          stop();
          reject(new Error(m.message));
        }
      }
      try {
        for (var k = 0; k < n; k++) {
          var indices = [];
          for (var i = k; i < count; i += n) indices.push(i);
          var worker = new Worker(workerUrl);
          worker.onmessage = onMessage;
          worker.onerror = function (e) { stop(); reject(new Error(e.message || "worker failed")); };
          pool.push(worker);
          worker.postMessage({ cid: cid, indices: indices, bits: bits });
        }
      } catch (e) {
        stop();
        reject(e);
      }
    });
  }

  function attach(input) {
    if (!input.form || input.dataset.swBound) return;
    input.dataset.swBound = "1";
    var helper = new Helper(input);
    helpers.push(helper);
    input.form.addEventListener("submit", function (event) { helper.onSubmit(event); });
    if (input.dataset.start === "focus") {
      input.form.addEventListener("focusin", function () { helper.start(); }, { once: true });
    } else {
      helper.start();
    }
  }

  function scan() {
    var inputs = document.querySelectorAll("input[data-shieldware-pow]");
    for (var i = 0; i < inputs.length; i++) attach(inputs[i]);
  }

  // Back and forward: a page restored from the cache holds a spent answer; start afresh.
  window.addEventListener("pageshow", function (event) {
    if (!event.persisted) return;
    helpers.forEach(function (h) { h.job = null; h.expiresAt = 0; h.input.value = ""; });
  });

  window.shieldwarePow = {
    header: "Shieldware-PoW-Answer",
    /* The answer for `form` (a helper input inside it), for a fetch() that sends it itself. */
    answer: function (form) {
      for (var i = 0; i < helpers.length; i++) if (helpers[i].form === form) return helpers[i].take();
      return Promise.reject(new Error("no shieldware helper in this form"));
    },
    scan: scan
  };
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", scan);
  else scan();
})();
