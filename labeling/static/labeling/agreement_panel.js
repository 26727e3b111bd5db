/* Agreement panel of the researcher project page: renders the agreement API's report, sorts the labeler
   table, and excludes or re-admits labelers (with a reason) through the exclusions API. */
(function () {
  "use strict";
  var panel = document.getElementById("agreement-panel");
  if (!panel) return;
  var status = panel.querySelector("[data-agreement-status]");
  var body = panel.querySelector("[data-agreement-body]");
  var state = { report: null, sortKey: null, sortDir: -1 };

  function fmt(x, digits) { return x === null || x === undefined ? "–" : Number(x).toFixed(digits); }
  function pct(x) { return x === null || x === undefined ? "–" : (100 * x).toFixed(1) + "%"; }
  function cell(row, text, numeric) {
    var td = document.createElement("td");
    td.textContent = text;
    if (numeric) td.className = "num";
    row.appendChild(td);
    return td;
  }
  function fill(selector, rows, build, emptyText, columns) {
    var tbody = panel.querySelector(selector);
    tbody.textContent = "";
    if (!rows.length) {
      var tr = tbody.insertRow();
      var td = cell(tr, emptyText);
      td.colSpan = columns;
      td.className = "muted";
      return;
    }
    rows.forEach(function (item) { var tr = tbody.insertRow(); build(tr, item); });
  }

  function request(url, options) {
    options = options || {};
    options.credentials = "same-origin";
    options.headers = { Accept: "application/json", "Content-Type": "application/json", "X-CSRFToken": panel.dataset.csrf };
    return fetch(url, options).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (data) {
        if (!response.ok) throw new Error(data.detail || "Request failed (" + response.status + ").");
        return data;
      });
    });
  }

  function renderLabelers() {
    var rows = state.report.labelers.slice();
    if (state.sortKey) {
      var key = state.sortKey, dir = state.sortDir;
      rows.sort(function (a, b) {
        var x = a[key], y = b[key];
        if (x === null) return 1;
        if (y === null) return -1;
        if (typeof x === "string") return dir * x.localeCompare(y);
        return dir * (x - y);
      });
    }
    fill("[data-agreement-labelers] tbody", rows, function (tr, r) {
      tr.dataset.labeler = r.username;
      if (r.needs_review) tr.classList.add("needs-review");
      cell(tr, r.username);
      cell(tr, r.n_judgments + (r.n_scored !== r.n_judgments ? " (" + r.n_scored + " scored)" : ""), true);
      cell(tr, pct(r.agreement), true);
      cell(tr, r.agreement_low === null ? "–" : "[" + pct(r.agreement_low) + ", " + pct(r.agreement_high) + "]");
      cell(tr, fmt(r.kappa, 2), true);
      cell(tr, r.n_gold ? pct(r.gold_accuracy) + " of " + r.n_gold : "–", true);
      cell(tr, r.median_time_ms === null ? "–" : fmt(r.median_time_ms / 1000, 1), true);
      cell(tr, pct(r.skip_rate), true);
      cell(tr, pct(r.flag_rate), true);
      var mark = cell(tr, r.excluded ? "excluded" : (r.needs_review ? "review" : "ok"));
      if (r.needs_review && !r.excluded) mark.style.fontWeight = "700";
      var action = cell(tr, "");
      var button = document.createElement("button");
      button.type = "button";
      button.className = r.excluded ? "button" : "button danger";
      button.textContent = r.excluded ? "Lift exclusion" : "Exclude";
      button.setAttribute("aria-label", button.textContent + " " + r.username);
      button.addEventListener("click", function () { toggleExclusion(r, button); });
      action.appendChild(button);
    }, "No judgments yet.", 11);
  }

  function render(report) {
    state.report = report;
    panel.querySelector("[data-agreement-summary]").textContent = report.n_judgments + " judgments on " +
      report.n_pairs + " pairs by " + report.n_labelers + " labelers (" + report.n_both_bad +
      " “both bad”, left out of the preference statistics). " + report.notes.join(" ");
    fill("[data-agreement-coefficients]", report.coefficients, function (tr, c) {
      cell(tr, c.name.replace(/_/g, " ")).title = c.note;
      cell(tr, c.variable === "choice" ? "choice (a/b/tie)" : "confidence (ordinal)");
      cell(tr, fmt(c.value, 3), true);
      cell(tr, c.interval.low === null ? "–" : "[" + fmt(c.interval.low, 3) + ", " + fmt(c.interval.high, 3) + "]");
      cell(tr, String(c.n_units), true);
      cell(tr, String(c.n_judgments), true);
    }, "Needs pairs with two or more judgments.", 6);
    var levels = report.consensus_levels;
    panel.querySelector("[data-agreement-consensus]").textContent = "Consensus per pair: " + levels.unanimous +
      " unanimous, " + levels.majority + " majority, " + levels.split + " split, " + levels.single + " single judgment.";
    panel.querySelector("[data-agreement-threshold]").textContent = "Below " + pct(report.review_threshold) +
      " agreement a labeler is marked for review.";
    renderLabelers();
    fill("[data-agreement-ranking]", report.ranking, function (tr, p) {
      cell(tr, p.name);
      cell(tr, fmt(p.rating, 0), true);
      cell(tr, p.rating_low === null ? "–" : "[" + fmt(p.rating_low, 0) + ", " + fmt(p.rating_high, 0) + "]");
      cell(tr, String(p.n_comparisons), true);
      cell(tr, pct(p.win_rate), true);
    }, "No comparisons between different policies yet.", 5);
    fill("[data-agreement-split]", report.split_pairs, function (tr, s) {
      var link = document.createElement("a");
      link.href = panel.dataset.pairUrl.replace("/0/", "/" + s.pair_id + "/");
      link.textContent = "#" + s.pair_id;
      cell(tr, "").appendChild(link);
      cell(tr, String(s.votes.a), true);
      cell(tr, String(s.votes.b), true);
      cell(tr, String(s.votes.tie), true);
    }, "No pair has split votes.", 4);
    if (report.n_split_pairs > report.split_pairs.length) {
      var more = panel.querySelector("[data-agreement-split]").insertRow();
      var td = cell(more, "… and " + (report.n_split_pairs - report.split_pairs.length) + " more split pairs.");
      td.colSpan = 4;
      td.className = "muted";
    }
  }

  function renderExclusions(rows) {
    fill("[data-agreement-exclusions]", rows, function (tr, e) {
      cell(tr, e.username);
      cell(tr, e.reason);
      cell(tr, e.created_by);
      cell(tr, new Date(e.created_at).toLocaleString());
      cell(tr, e.active ? "active" : e.lifted_by + ": " + e.lift_reason);
    }, "No labeler has been excluded.", 5);
  }

  function load() {
    status.textContent = "Computing agreement…";
    return Promise.all([request(panel.dataset.reportUrl), request(panel.dataset.exclusionsUrl)]).then(function (res) {
      render(res[0]);
      renderExclusions(res[1]);
      body.hidden = false;
      status.textContent = "Agreement computed with " + res[0].n_resamples + " bootstrap resamples.";
    }).catch(function (error) { status.textContent = "Could not compute agreement: " + error.message; });
  }

  function toggleExclusion(row, button) {
    var lifting = row.excluded;
    var reason = window.prompt((lifting ? "Why re-admit " : "Why exclude ") + row.username + "'s judgments?");
    if (reason === null) return;
    if (!reason.trim()) { status.textContent = "A reason is required; nothing was changed."; return; }
    button.disabled = true;
    var url = lifting ? panel.dataset.liftUrl : panel.dataset.exclusionsUrl;
    request(url, { method: "POST", body: JSON.stringify({ labeler_id: row.labeler_id, reason: reason }) })
      .then(load)
      .catch(function (error) { status.textContent = error.message; button.disabled = false; });
  }

  panel.querySelectorAll("[data-sort]").forEach(function (button) {
    button.addEventListener("click", function () {
      var key = button.dataset.sort;
      state.sortDir = state.sortKey === key ? -state.sortDir : (key === "username" ? 1 : -1);
      state.sortKey = key;
      panel.querySelectorAll("[data-agreement-labelers] th").forEach(function (th) { th.setAttribute("aria-sort", "none"); });
      button.parentElement.setAttribute("aria-sort", state.sortDir > 0 ? "ascending" : "descending");
      if (state.report) renderLabelers();
    });
  });
  load();
})();
