// tiewatch pages: draw charts with the vendored vega-embed, and keep the feed live over server-sent events.
(function () {
  "use strict";
  function drawCharts() {
    if (!window.vegaEmbed) return;
    document.querySelectorAll("div.vega[data-spec]").forEach(function (el) {
      var spec = JSON.parse(document.getElementById(el.dataset.spec).textContent);
      window.vegaEmbed(el, spec, { actions: false, renderer: "svg", tooltip: true }).then(function () {
        el.dataset.drawn = "1";
      }).catch(function (err) {
        el.textContent = "The chart could not be drawn: " + err.message;
      });
    });
  }
  function text(tag, cls, value) {
    var node = document.createElement(tag);
    if (cls) node.className = cls;
    node.textContent = value;
    return node;
  }
  function signalItem(s) {  // built with textContent only: names and sentences can never become markup
    var li = document.createElement("li");
    li.className = "signal new kind-" + s.kind.replace(/[^a-z_]/g, "");
    li.dataset.id = s.id;
    var meta = document.createElement("p");
    meta.className = "meta";
    meta.appendChild(text("span", "badge", s.kind_label));
    meta.appendChild(text("time", "", s.when_label));
    if (s.q_value !== null) meta.appendChild(text("span", "q", "q = " + Number(s.q_value).toPrecision(2)));
    li.appendChild(meta);
    var who = document.createElement("p");
    who.className = "who";
    s.names.forEach(function (name, i) {
      if (i) who.appendChild(document.createTextNode(" → "));
      var a = text("a", "", name);
      a.href = s.account_links[i];
      who.appendChild(a);
    });
    li.appendChild(who);
    li.appendChild(text("p", "summary", s.summary));
    var links = document.createElement("p");
    links.className = "links";
    var ev = text("a", "", "Evidence");
    ev.href = s.link;
    links.appendChild(ev);
    li.appendChild(links);
    return li;
  }
  function liveFeed() {
    var status = document.getElementById("live-status");
    var feed = document.getElementById("feed");
    if (!status || !feed || !window.EventSource) return;
    var source = new EventSource(status.dataset.stream);
    source.addEventListener("signal", function (msg) {
      var s = JSON.parse(msg.data);
      if (feed.querySelector('[data-id="' + CSS.escape(s.id) + '"]')) return;
      feed.insertBefore(signalItem(s), feed.firstChild);
      var empty = document.getElementById("empty");
      if (empty) empty.remove();
      status.textContent = "Live: " + s.names.join(" and ") + " — new " + s.kind_label.toLowerCase() + " signal.";
    });
    source.addEventListener("error", function () {
      status.textContent = "Live updates paused; retrying…";
    });
    window.addEventListener("pagehide", function () { source.close(); });
  }
  var started = false;
  function start() { if (started) return; started = true; drawCharts(); liveFeed(); }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start); else start();
})();
