/* Live values: any [data-live-url] container polls its JSON URL and updates [data-live="dotted.path"] inside it.
 * Reusable by other pages (rounds, exports): add the attributes, load this file (base.html does), done.
 *   data-live-url="/api/..."     JSON endpoint (GET, session cookie)
 *   data-live-interval="4000"    poll period in ms (default 5000); polling pauses while the tab is hidden
 *   data-live="a.b.c"            element whose text becomes that value
 *   data-live-format="percent|meter|<name>"  formatting; register your own with ArbiterLive.formats[name] = fn(el, value)
 * A container's "live:update" event carries the whole JSON body for custom rendering.
 */
(function () {
  "use strict";

  function pick(data, path) {
    return path.split(".").reduce(function (obj, key) {
      return obj === null || obj === undefined ? undefined : obj[key];
    }, data);
  }

  function cell(text, numeric) {
    var td = document.createElement("td");
    td.textContent = text;
    if (numeric) td.className = "num";
    return td;
  }

  var formats = {
    percent: function (el, value) { el.textContent = Math.round(value * 100) + "%"; },
    meter: function (el, value) {
      var pct = Math.round(value * 100);
      el.setAttribute("aria-valuenow", String(pct));
      var bar = el.querySelector("span");
      if (bar) bar.style.width = pct + "%";
    },
    labelers: function (el, rows) {
      el.replaceChildren();
      if (!rows.length) {
        var tr = document.createElement("tr");
        var td = cell("No comparisons yet.");
        td.colSpan = 5;
        td.className = "muted";
        tr.appendChild(td);
        el.appendChild(tr);
        return;
      }
      rows.forEach(function (row) {
        var tr = document.createElement("tr");
        tr.appendChild(cell(row.username));
        tr.appendChild(cell(String(row.comparisons), true));
        tr.appendChild(cell(row.mean_seconds === null ? "–" : Number(row.mean_seconds).toFixed(1), true));
        tr.appendChild(cell(String(row.skips), true));
        tr.appendChild(cell(String(row.flags), true));
        el.appendChild(tr);
      });
    },
  };

  function apply(container, data) {
    container.querySelectorAll("[data-live]").forEach(function (el) {
      var value = pick(data, el.getAttribute("data-live"));
      if (value === undefined) return;
      var format = formats[el.getAttribute("data-live-format")];
      if (format) format(el, value);
      else el.textContent = value === null ? "–" : String(value);
    });
    container.dispatchEvent(new CustomEvent("live:update", { detail: data }));
  }

  // The one poll loop of the site's live pages: GET `url` (JSON, session cookie) now when `immediate`, then
  // every interval() ms, pausing while the tab is hidden and polling at once when it shows again.
  // onData(json) on success, onError() on an HTTP or network failure; either way the next poll is scheduled.
  function follow(url, interval, onData, onError, immediate) {
    var timer = null;

    function schedule() {
      clearTimeout(timer);
      if (!document.hidden) timer = setTimeout(poll, interval());
    }

    function poll() {
      fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (response) {
          if (!response.ok) throw new Error("HTTP " + response.status);
          return response.json();
        })
        .then(onData)
        .catch(onError)
        .then(schedule);
    }

    document.addEventListener("visibilitychange", function () {
      if (!document.hidden) poll();
      else clearTimeout(timer);
    });
    if (immediate) poll();
    else schedule();
  }

  function watch(container) {
    var interval = parseInt(container.getAttribute("data-live-interval") || "5000", 10);
    var status = container.querySelector("[data-live-status]");
    follow(container.getAttribute("data-live-url"), function () { return interval; }, function (data) {
      apply(container, data);
      if (status) status.textContent = "updated " + new Date().toLocaleTimeString();
    }, function () {
      if (status) status.textContent = "could not update; retrying";
    }, true);
  }

  window.ArbiterLive = { formats: formats, watch: watch, apply: apply, follow: follow };
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-live-url]").forEach(watch);
  });
})();
