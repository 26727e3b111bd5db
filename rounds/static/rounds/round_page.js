/* The round page follows its round: poll the sections URL and swap in each [data-round-section] whose HTML
 * changed (the server renders the same section templates as the first view). Polls every data-poll-ms
 * (the server says how often: slower once the round is done or cancelled); the poll loop is ArbiterLive.follow
 * (frontend/live.js), which pauses while the tab is hidden. */
(function () {
  "use strict";
  var root = document.getElementById("round-live");
  if (!root) return;
  var url = root.getAttribute("data-sections-url");
  var interval = parseInt(root.getAttribute("data-poll-ms") || "3000", 10);
  var status = document.getElementById("round-live-status");
  var received = {};  // the last HTML the server sent per section (the DOM's own serialisation differs)

  function swap(name, html) {
    var holder = document.querySelector('[data-round-section="' + name + '"]');
    if (!holder || received[name] === html) return;
    received[name] = html;
    var focused = document.activeElement && holder.contains(document.activeElement) ? document.activeElement.id : "";
    holder.innerHTML = html;
    if (focused && document.getElementById(focused)) document.getElementById(focused).focus();
  }

  ArbiterLive.follow(url, function () { return interval; }, function (data) {
    Object.keys(data.sections).forEach(function (name) { swap(name, data.sections[name]); });
    interval = data.poll_ms || interval;
    root.setAttribute("data-state", data.state);
    if (status) status.textContent = "Updated " + new Date().toLocaleTimeString() + ".";
  }, function () {
    if (status) status.textContent = "Could not update; retrying.";
  }, false);
  root.setAttribute("data-state", (document.getElementById("round-state") || {}).textContent || "");
})();
