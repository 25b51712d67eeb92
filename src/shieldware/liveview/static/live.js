// shieldware live view: replace each section with the server-rendered HTML pushed over SSE.
(function () {
  "use strict";
  var url = document.body.getAttribute("data-events");
  var conn = document.getElementById("conn");
  if (!url || !window.EventSource) {
    if (conn) conn.textContent = "static (no live updates)";
    return;
  }
  var source = new EventSource(url);
  source.addEventListener("open", function () {
    conn.textContent = "live";
    conn.className = "conn live";
  });
  source.addEventListener("error", function () {
    conn.textContent = "reconnecting…";
    conn.className = "conn down";
  });
  source.addEventListener("sections", function (event) {
    var sections = JSON.parse(event.data);
    Object.keys(sections).forEach(function (id) {
      var element = document.getElementById(id);
      if (!element) return;
      if (id === "updated") element.textContent = sections[id];
      else element.innerHTML = sections[id];
    });
    document.body.setAttribute("data-updates", String(Number(document.body.getAttribute("data-updates") || 0) + 1));
  });
})();
