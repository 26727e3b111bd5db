/* Labeler workspace: one pair at a time from the JSON API, keyboard first, the next pair prefetched.
 * A submit asks for the pair after the prefetched one in the same request, so labeling costs one request
 * per judgment once the first two pairs are loaded.
 * Choice and confidence are kept consistent: digits below the scale's midpoint mean A (left) is better,
 * above it B (right); choosing a side sets a default confidence on that side.
 * A submitted judgment can be reopened (u, or from "My recent judgments") and revised: the screen then
 * holds that judgment instead of the current lease, which waits. Only shown-order data ever reaches it.
 * Leases this tab holds are released with navigator.sendBeacon when the page goes away.
 */
(function () {
  "use strict";

  var config = JSON.parse(document.getElementById("workspace-config").textContent);
  var $ = function (id) { return document.getElementById(id); };
  var root = $("workspace");
  var low = config.confidenceMin, high = config.confidenceMax, mid = (low + high) / 2;
  var PROMPT_COLLAPSE_CHARS = 700, PROMPT_COLLAPSE_LINES = 12, RETRY_MAX_MS = 30000;

  var state = {
    current: null,      // the assignment on screen
    prefetch: null,     // Promise of the next assignment (or null)
    choice: null,
    confidence: null,
    busy: false,
    expired: false,
    retryTimer: null,
    retryDelay: 2000,
    leaseTimer: null,
    prefetched: null,   // the prefetch's assignment once it arrived (released with the tab)
    revising: null,     // a submitted judgment on screen for revision (shown order), or null
    stash: null,        // the lease that waits while a judgment is revised
    last: null,         // the judgment just submitted, for undo
    progressAsked: 0,   // requests sent that answer with the labeler's counts, numbered as sent
    progressShown: 0,   // the number of the request whose counts are on screen
    progress: null,     // those counts
  };

  var ApiError = ArbiterApi.ApiError;
  var api = ArbiterApi.json;
  var visibleClock = ArbiterApi.visibleClock();

  function actionUrl(kind, id) { return config.urls[kind].replace("/0/", "/" + id + "/"); }
  function leaseLeftMs(assignment) {
    return Date.parse(assignment.expires_at) - assignment._serverDate - (Date.now() - assignment._receivedAt);
  }
  function isUnreachable(error) { return !(error instanceof ApiError); }
  function isServerError(error) { return error instanceof ApiError && error.status >= 500; }
  function onScreen() { return state.revising || state.current; }

  function fetchNext(exclude) {
    return api("POST", config.urls.next, { exclude: exclude || [] });
  }

  /* ---------- rendering ---------- */

  function setView(view) {
    root.setAttribute("data-state", view);
    $("loading").hidden = view !== "loading";
    $("task").hidden = view !== "task";
    $("empty").hidden = view !== "empty";
  }

  function notice(message, kind, actions) {
    var box = $("notice");
    box.replaceChildren();
    if (!message) { box.hidden = true; return; }
    box.className = "notice " + (kind || "info");
    var p = document.createElement("p");
    p.textContent = message;
    box.appendChild(p);
    (actions || []).forEach(function (action) {
      var button = document.createElement("button");
      button.type = "button";
      button.className = "button small";
      button.textContent = action.label;
      button.addEventListener("click", action.run);
      box.appendChild(button);
    });
    box.hidden = false;
  }

  function buildScale() {
    var scale = $("scale");
    for (var value = low; value <= high; value++) {
      var button = document.createElement("button");
      button.type = "button";
      button.className = "button scale-step " + (value < mid ? "left" : value > mid ? "right" : "middle");
      button.setAttribute("data-confidence", String(value));
      button.setAttribute("aria-pressed", "false");
      var digit = document.createElement("kbd");
      digit.textContent = String(value);
      var label = document.createElement("span");
      label.className = "scale-label";
      label.textContent = config.confidenceLabels[String(value)];
      // The compact panel shows the digit only; the label stays the button's name and tooltip.
      button.setAttribute("aria-label", value + ": " + config.confidenceLabels[String(value)]);
      button.title = config.confidenceLabels[String(value)];
      button.append(digit, label);
      scale.appendChild(button);
    }
  }

  function buildFlagReasons() {
    var box = $("flag-reasons");
    config.flagReasons.forEach(function (reason, index) {
      var label = document.createElement("label");
      label.className = "radio";
      var input = document.createElement("input");
      input.type = "radio";
      input.name = "flag-reason";
      input.value = reason.value;
      var key = document.createElement("kbd");
      key.textContent = String(index + 1);
      label.append(input, " ", key, " " + reason.label);
      box.appendChild(label);
    });
  }

  function renderSelection() {
    document.querySelectorAll("[data-choice]").forEach(function (button) {
      button.setAttribute("aria-pressed", String(button.getAttribute("data-choice") === state.choice));
    });
    document.querySelectorAll("[data-confidence]").forEach(function (button) {
      button.setAttribute("aria-pressed", String(Number(button.getAttribute("data-confidence")) === state.confidence));
    });
    var names = { a: "A is better", b: "B is better", tie: "Tie", both_bad: "Both bad" };
    var text = state.choice ? names[state.choice] : "Nothing chosen yet.";
    if (state.choice && state.confidence !== null) text += " · " + state.confidence + " (" + config.confidenceLabels[String(state.confidence)] + ")";
    $("selection").textContent = text;
    $("submit").disabled = !state.choice || state.busy;
    $("submit").firstChild.textContent = state.revising ? "Save revision " : "Submit ";
    $("skip").disabled = $("flag").disabled = !!state.revising;
    $("undo").disabled = !state.last || !!state.revising;
  }

  // HH-RLHF dialogues ("\n\nHuman: … \n\nAssistant: …") become one block per turn; other prompts stay text.
  var TURN_MARK = /(?:^|\n+)[ \t]*(Human|Assistant):[ \t]?/;
  function dialogueTurns(text) {
    var parts = text.split(new RegExp(TURN_MARK.source, "g"));
    if (parts.length < 3) return null;
    var turns = [];
    if (parts[0].trim()) turns.push({ role: "", text: parts[0].trim() });
    for (var i = 1; i + 1 < parts.length; i += 2) {
      var last = i + 2 >= parts.length;
      // The closing empty "Assistant:" is the turn the two responses below answer.
      if (parts[i + 1].trim() || last) turns.push({ role: parts[i], text: parts[i + 1].trim(), pending: !parts[i + 1].trim() });
    }
    return turns;
  }

  function fillText(box, text) {
    box.replaceChildren();
    var turns = dialogueTurns(text);
    box.classList.toggle("dialogue", !!turns);
    if (!turns) { box.textContent = text.replace(/^\s+/, ""); return; }
    turns.forEach(function (turn) {
      var block = document.createElement("div");
      block.className = "turn" + (turn.role ? " turn-" + turn.role.toLowerCase() : "");
      if (turn.role) {
        var who = document.createElement("span");
        who.className = "turn-role";
        who.textContent = turn.role;
        block.appendChild(who);
      }
      var body = document.createElement("div");
      body.className = "turn-text" + (turn.pending ? " muted" : "");
      body.textContent = turn.pending ? "(answered by the two responses below)" : turn.text;
      block.appendChild(body);
      box.appendChild(block);
    });
  }

  // Call once the task is visible: a collapsed prompt scrolls to its end, which needs a laid-out box.
  function renderPrompt(text) {
    var prompt = $("prompt");
    fillText(prompt, text);
    var long = text.length > PROMPT_COLLAPSE_CHARS || text.split("\n").length > PROMPT_COLLAPSE_LINES;
    $("toggle-prompt").hidden = !long;
    setPromptCollapsed(long);
  }

  function setPromptCollapsed(collapsed) {
    var prompt = $("prompt");
    prompt.classList.toggle("collapsed", collapsed);
    var toggle = $("toggle-prompt");
    toggle.setAttribute("aria-expanded", String(!collapsed));
    toggle.firstChild.textContent = collapsed ? "Show all " : "Collapse ";
    // Collapsed dialogues show their end: the last turn is the one being answered.
    if (collapsed) prompt.scrollTop = prompt.scrollHeight;
  }

  // The texts of a pair as shown, and a selection to start from (empty for a new pair).
  function renderTask(texts, selection) {
    state.choice = selection ? selection.choice : null;
    state.confidence = selection ? selection.confidence : null;
    $("rationale").value = selection ? selection.rationale || "" : "";
    $("rationale-box").open = !!(selection && selection.rationale);
    $("response-left").textContent = texts.response_left;
    $("response-right").textContent = texts.response_right;
    $("revise-banner").hidden = !state.revising;
    $("task").classList.toggle("revising", !!state.revising);
    setView("task");
    renderPrompt(texts.prompt);
    renderSelection();
    visibleClock.start();
    window.scrollTo(0, 0);
    $("main").focus({ preventScroll: true });
  }

  function show(assignment) {
    clearTimeout(state.leaseTimer);
    state.current = assignment;
    state.revising = null;
    state.expired = false;
    $("task").setAttribute("data-assignment", String(assignment.assignment_id));
    $("task").removeAttribute("data-comparison");
    var remaining = leaseLeftMs(assignment);
    state.leaseTimer = setTimeout(onLeaseExpired, Math.max(0, remaining));
    renderTask(assignment, null);
  }

  function showEmpty() {
    clearTimeout(state.leaseTimer);
    state.current = null;
    setView("empty");
  }

  // Counts travel with /progress/ and with submits; an answer to an earlier request that arrives
  // after a later one's is stale (it was counted before that submit) and is not shown.
  function askProgress() { state.progressAsked += 1; return state.progressAsked; }

  function showProgress(me, asked) {
    if (asked < state.progressShown) return state.progress;
    state.progressShown = asked;
    state.progress = me;
    $("done-today").textContent = me.done_today;
    $("done-project").textContent = me.done_in_project;
    $("remaining").textContent = me.remaining;
    return me;
  }

  // Resolves to the labeler's own counts (or null when unreachable) after showing them.
  function refreshProgress() {
    var asked = askProgress();
    return api("GET", config.urls.progress).then(function (data) {
      return showProgress(data.me, asked);
    }).catch(function () { return null; });
  }

  /* ---------- moving through the queue ---------- */

  // `remaining` counts the pair on screen too; asking /next/ only when another exists keeps the
  // empty queue from showing up as failed requests in the console.
  function startPrefetch() {
    var current = state.current;
    state.prefetched = null;
    state.prefetch = refreshProgress().then(function (me) {
      if (!current || (me && me.remaining < 2)) return null;
      return fetchNext([current.assignment_id]).then(function (next) {
        state.prefetched = next;
        return next;
      }).catch(function () { return null; });
    });
  }

  function usable(assignment) {
    if (!assignment || !assignment.assignment_id) return false;
    if (state.current && assignment.assignment_id === state.current.assignment_id) return false;
    return leaseLeftMs(assignment) > 15000;
  }

  // The next assignment a submit brought back (null: none left for now) becomes the prefetched one.
  function keepPrefetched(next) {
    state.prefetched = usable(next) ? next : null;
    state.prefetch = Promise.resolve(state.prefetched);
  }

  function advance() { return advanceWith(undefined); }

  // `carried`: what a submit just answered for `next` (undefined when it carried nothing).
  function advanceWith(carried) {
    var pending = state.prefetch, keep;
    state.prefetch = null;
    state.current = null;
    state.revising = null;
    state.stash = null;
    return Promise.resolve(pending).then(function (prefetched) {
      if (usable(prefetched)) { keep = carried; return prefetched; }
      if (usable(carried)) return carried;
      setView("loading");
      return refreshProgress().then(function (me) {
        return me && me.remaining === 0 ? null : fetchNext([]);
      });
    }).then(function (assignment) {
      notice(null);
      if (!assignment) { showEmpty(); return; }
      show(assignment);
      if (keep !== undefined) keepPrefetched(keep);
      else startPrefetch();
    }).catch(function (error) {
      if (error instanceof ApiError && error.code === "queue_empty") { notice(null); showEmpty(); refreshProgress(); return; }
      if (error instanceof ApiError && error.code === "too_many_leases") {
        notice(error.detail + " (Another tab may hold them.)", "warn", [{ label: "Try again", run: advance }]);
        return;
      }
      var why = isUnreachable(error) ? "the server cannot be reached (network problem)"
        : isServerError(error) ? "the server had an error (" + error.status + ")" : error.detail;
      notice("Could not load the next pair: " + why + ".", "error", [{ label: "Try again", run: advance }]);
    });
  }

  /* ---------- actions ---------- */

  function clearRetry() { clearTimeout(state.retryTimer); state.retryTimer = null; state.retryDelay = 2000; }

  function perform(kind, body) {
    if (!state.current || state.busy) return;
    if (state.expired) { advance(); return; }
    state.busy = true;
    renderSelection();
    var shown = state.current;
    var asked = body && body.progress ? askProgress() : 0;
    api("POST", actionUrl(kind, shown.assignment_id), body).then(done, function (error) {
      if (error instanceof ApiError && error.code === "already_submitted") return done(null);
      state.busy = false;
      renderSelection();
      if (isUnreachable(error) || isServerError(error)) return scheduleRetry(kind, body, error);
      clearRetry();
      if (error.code === "lease_expired") return onLeaseExpired(error.detail);
      notice(error.detail, "error");
    });

    function done(result) {
      clearRetry();
      state.busy = false;
      var carried;
      if (kind === "submit" && result && result.comparison_id) {
        state.last = {
          comparison_id: result.comparison_id, prompt: shown.prompt, response_left: shown.response_left,
          response_right: shown.response_right, choice: body.choice, confidence: body.confidence, rationale: body.rationale,
        };
        if (result.progress) showProgress(result.progress, asked);
        if (result.next !== undefined) carried = carriedNext(result);
      }
      advanceWith(carried);
    }
  }

  // The next assignment inside a submit's answer, timed by that answer's Date header like any other.
  function carriedNext(result) {
    if (!result.next) return null;
    return Object.assign({}, result.next, { _serverDate: result._serverDate, _receivedAt: result._receivedAt });
  }

  function scheduleRetry(kind, body, error) {
    // A submit is rebuilt from the screen, so a choice changed while waiting is the one sent.
    function again() { clearTimeout(state.retryTimer); if (kind === "submit" || kind === "revise") submit(); else perform(kind, body); }
    var seconds = Math.round(state.retryDelay / 1000);
    var what = isServerError(error)
      ? "The server could not save this (error " + error.status + "), retrying"
      : "Network problem: the server cannot be reached";
    notice(what + ": your judgment is kept and will be sent again in " + seconds + " s.", "warn",
      [{ label: "Retry now", run: again }]);
    clearTimeout(state.retryTimer);
    state.retryTimer = setTimeout(again, state.retryDelay);
    state.retryDelay = Math.min(RETRY_MAX_MS, state.retryDelay * 2);
  }

  function onLeaseExpired(detail) {
    if (!state.current) return;
    state.expired = true;
    clearRetry();
    notice((typeof detail === "string" ? detail : "Your time on this pair ran out and it went back to the pool.") +
      " Nothing was saved for it. Press Enter to load another pair.", "warn",
      [{ label: "Load another pair", run: advance }]);
  }

  function submit() {
    if (state.revising) { saveRevision(); return; }
    if (!state.current) return;
    if (state.expired) { advance(); return; }
    if (!state.choice) { notice("Choose first: ← A better, → B better" + (config.allowTie ? ", t tie" : "") + (config.allowBothBad ? ", b both bad" : "") + ".", "info"); return; }
    // The pair after the prefetched one comes back with this submit (the prefetched one is excluded).
    var held = state.prefetched ? [state.prefetched.assignment_id] : [];
    perform("submit", {
      choice: state.choice,
      confidence: state.confidence,
      rationale: $("rationale").value,
      time_spent_ms: visibleClock.read(),
      next: { exclude: [state.current.assignment_id].concat(held) },
      progress: true,
    });
  }

  function skip() { if (state.current) perform("skip", {}); }

  /* ---------- undo and revise ---------- */

  // Put a submitted judgment (as the labeler saw it) on screen; the lease being worked on waits.
  function openRevision(judgment) {
    if (state.busy || !judgment) return;
    if (!state.revising) {
      state.stash = state.current;
      clearTimeout(state.leaseTimer);
    }
    state.revising = judgment;
    state.current = null;
    state.expired = false;
    clearRetry();
    notice(null);
    $("task").removeAttribute("data-assignment");
    $("task").setAttribute("data-comparison", String(judgment.comparison_id));
    renderTask(judgment, judgment);
  }

  function undo() { if (state.last && !state.revising) openRevision(state.last); }

  function leaveRevision(message) {
    var waiting = state.stash;
    state.revising = null;
    state.stash = null;
    $("revise-banner").hidden = true;
    $("task").classList.remove("revising");
    var next = waiting && leaseLeftMs(waiting) > 5000 ? Promise.resolve(show(waiting)) : advance();
    if (message) next.then(function () { notice(message, "info"); });
  }

  function saveRevision() {
    var judgment = state.revising;
    if (!judgment || state.busy) return;
    if (!state.choice) { notice("Choose first: ← A better, → B better.", "info"); return; }
    var body = {
      choice: state.choice, confidence: state.confidence, rationale: $("rationale").value,
      time_spent_ms: visibleClock.read(),
    };
    state.busy = true;
    renderSelection();
    api("POST", config.urls.revise.replace("/0/", "/" + judgment.comparison_id + "/"), body).then(function (result) {
      clearRetry();
      state.busy = false;
      // Only the new revision's id is read from the answer: the screen keeps to the shown order.
      var revised = Object.assign({}, judgment, body, { comparison_id: result.id });
      if (state.last && state.last.comparison_id === judgment.comparison_id) state.last = revised;
      leaveRevision("Revision saved.");
    }, function (error) {
      state.busy = false;
      renderSelection();
      if (isUnreachable(error) || isServerError(error)) return scheduleRetry("revise", body, error);
      clearRetry();
      notice(error.detail, "error");
    });
  }

  /* ---------- my recent judgments ---------- */

  var CHOICE_NAMES = { a: "A is better", b: "B is better", tie: "Tie", both_bad: "Both bad" };

  function lastHumanTurn(text) {
    var turns = dialogueTurns(text);
    var humans = turns ? turns.filter(function (t) { return t.role === "Human"; }) : [];
    return humans.length ? humans[humans.length - 1].text : text.trim();
  }

  function openRecent() {
    if (state.busy) return;
    var list = $("recent-list");
    list.replaceChildren();
    $("recent-status").textContent = "Loading…";
    openDialog("recent-dialog");
    api("GET", config.urls.recent).then(function (judgments) {
      $("recent-status").textContent = judgments.length ? "" : "You have not judged any pair in this project yet.";
      judgments.forEach(function (row) {
        // The API names them as shown to this labeler; the revise form works with the same two values.
        var judgment = Object.assign({}, row, {choice: row.shown_choice, confidence: row.shown_confidence});
        var item = document.createElement("li");
        item.className = "recent-item";
        item.setAttribute("data-comparison", String(judgment.comparison_id));
        var prompt = document.createElement("p");
        prompt.className = "recent-prompt";
        var snippet = lastHumanTurn(judgment.prompt);
        prompt.textContent = snippet.length > 160 ? snippet.slice(0, 157) + "…" : snippet;
        var what = document.createElement("p");
        what.className = "muted recent-choice";
        var text = CHOICE_NAMES[judgment.choice] || judgment.choice;
        if (judgment.confidence !== null) text += " · " + judgment.confidence + " (" + config.confidenceLabels[String(judgment.confidence)] + ")";
        text += " · " + new Date(judgment.submitted_at).toLocaleString();
        if (judgment.revision > 1) text += " · revised";
        what.textContent = text;
        var button = document.createElement("button");
        button.type = "button";
        button.className = "button small";
        button.textContent = "Revise";
        button.setAttribute("aria-label", "Revise: " + prompt.textContent);
        button.addEventListener("click", function () { $("recent-dialog").close(); openRevision(judgment); });
        item.append(prompt, what, button);
        list.appendChild(item);
      });
      var first = list.querySelector("button");
      if (first) first.focus();
    }, function (error) {
      $("recent-status").textContent = "Could not load your judgments: " + (error.detail || "the server cannot be reached") + ".";
    });
  }

  /* ---------- leases go back when the tab goes away ---------- */

  function heldLeaseIds() {
    var ids = [];
    [state.current, state.stash, state.prefetched].forEach(function (lease) {
      if (lease && lease.assignment_id && ids.indexOf(lease.assignment_id) < 0) ids.push(lease.assignment_id);
    });
    return ids;
  }

  function releaseLeases() {
    var ids = heldLeaseIds();
    if (!ids.length || !navigator.sendBeacon) return;
    var form = new FormData();
    form.append("csrfmiddlewaretoken", ArbiterApi.csrfToken());
    ids.forEach(function (id) { form.append("assignment", String(id)); });
    navigator.sendBeacon(config.urls.release, form);
    state.current = state.stash = state.prefetched = null;
    state.prefetch = null;
  }

  /* ---------- content warning ---------- */

  function acknowledgeWarning() {
    var button = $("content-warning-ack");
    button.disabled = true;
    api("POST", config.urls.contentWarningAck).then(function () {
      $("content-warning").remove();
      advance();
    }, function (error) {
      button.disabled = false;
      notice("Could not record that: " + (error.detail || "the server cannot be reached") + ".", "error");
    });
  }

  function leftValues() { var out = []; for (var v = low; v < mid; v++) out.push(v); return out; }
  function rightValues() { var out = []; for (var v = high; v > mid; v--) out.push(v); return out; }

  function choose(choice) {
    if (!onScreen() || state.busy) return;
    if (choice === "tie" && !config.allowTie) return;
    if (choice === "both_bad" && !config.allowBothBad) return;
    state.choice = choice;
    if (choice === "a" && !(state.confidence !== null && state.confidence < mid)) {
      var left = leftValues();
      state.confidence = left[Math.floor(left.length / 2)];
    } else if (choice === "b" && !(state.confidence !== null && state.confidence > mid)) {
      var right = rightValues();
      state.confidence = right[Math.floor(right.length / 2)];
    } else if (choice === "tie") {
      state.confidence = Number.isInteger(mid) ? mid : null;
    } else if (choice === "both_bad") {
      state.confidence = null;
    }
    renderSelection();
  }

  function setConfidence(value) {
    if (!onScreen() || state.busy || value < low || value > high) return;
    state.confidence = value;
    if (value < mid) state.choice = "a";
    else if (value > mid) state.choice = "b";
    else if (config.allowTie) state.choice = "tie";
    else if (state.choice !== "a" && state.choice !== "b") state.choice = null;
    renderSelection();
  }

  /* ---------- flag dialog ---------- */

  function openFlag() {
    if (!state.current || state.busy) return;
    $("flag-form").reset();
    $("flag-error").textContent = "";
    $("flag-dialog").showModal();
    var first = document.querySelector('input[name="flag-reason"]');
    if (first) first.focus();
  }

  function confirmFlag(event) {
    event.preventDefault();
    var checked = document.querySelector('input[name="flag-reason"]:checked');
    var note = $("flag-note").value.trim();
    if (!checked) { $("flag-error").textContent = "Pick a reason (1–" + config.flagReasons.length + ")."; return; }
    if (checked.value === "other" && !note) { $("flag-error").textContent = "Say what is wrong in the note."; $("flag-note").focus(); return; }
    $("flag-dialog").close();
    perform("flag", { reason: checked.value, note: note });
  }

  /* ---------- keyboard ---------- */

  function openDialog(id) { if (!$(id).open) $(id).showModal(); }

  function onKey(event) {
    if (event.defaultPrevented || event.altKey || event.metaKey) return;
    var target = event.target;
    var flagOpen = $("flag-dialog").open;
    if (flagOpen) {
      if (/^[1-9]$/.test(event.key) && target.id !== "flag-note") {
        var radio = document.querySelectorAll('input[name="flag-reason"]')[Number(event.key) - 1];
        if (radio) { radio.checked = true; radio.focus(); event.preventDefault(); }
      }
      return;
    }
    if ($("help-dialog").open || $("instructions-dialog").open || $("recent-dialog").open) return;
    if ($("content-warning")) return;
    if (target.id === "rationale") {
      if (event.key === "Escape") { target.blur(); $("main").focus({ preventScroll: true }); event.preventDefault(); }
      else if (event.key === "Enter" && event.ctrlKey) { event.preventDefault(); submit(); }
      return;
    }
    if (target.matches("input, textarea, select")) return;
    if (event.ctrlKey) return;
    var onOtherButton = target.matches("button, a, summary") && !target.matches("[data-choice], [data-confidence]");
    if ((event.key === "Enter" || event.key === " ") && onOtherButton) return;
    var handled = true;
    if (event.key === "?") openDialog("help-dialog");
    else if (event.key === "i") openDialog("instructions-dialog");
    else if (event.key === "h") openRecent();
    else if (event.key === "u") undo();
    else if (state.expired && event.key === "Enter") advance();
    else if (state.revising && event.key === "Escape") leaveRevision(null);
    else if (!onScreen()) handled = false;
    else if (event.key === "ArrowLeft") choose("a");
    else if (event.key === "ArrowRight") choose("b");
    else if (event.key === "t") choose("tie");
    else if (event.key === "b") choose("both_bad");
    else if (/^[0-9]$/.test(event.key)) setConfidence(Number(event.key));
    else if (event.key === "Enter") submit();
    else if (event.key === "s" && !state.revising) skip();
    else if (event.key === "f" && !state.revising) openFlag();
    else if (event.key === "p") { if (!$("toggle-prompt").hidden) setPromptCollapsed(!$("prompt").classList.contains("collapsed")); }
    else if (event.key === "r") { $("rationale-box").open = true; $("rationale").focus(); }
    else handled = false;
    if (handled) event.preventDefault();
  }

  /* ---------- wiring ---------- */

  buildScale();
  buildFlagReasons();
  document.addEventListener("keydown", onKey);
  document.querySelectorAll("[data-choice]").forEach(function (button) {
    button.addEventListener("click", function () { choose(button.getAttribute("data-choice")); });
  });
  $("scale").addEventListener("click", function (event) {
    var button = event.target.closest("[data-confidence]");
    if (button) setConfidence(Number(button.getAttribute("data-confidence")));
  });
  $("submit").addEventListener("click", submit);
  $("skip").addEventListener("click", skip);
  $("flag").addEventListener("click", openFlag);
  $("flag-form").addEventListener("submit", confirmFlag);
  $("flag-cancel").addEventListener("click", function () { $("flag-dialog").close(); });
  $("open-help").addEventListener("click", function () { openDialog("help-dialog"); });
  $("open-instructions").addEventListener("click", function () { openDialog("instructions-dialog"); });
  $("toggle-prompt").addEventListener("click", function () { setPromptCollapsed(!$("prompt").classList.contains("collapsed")); });
  $("undo").addEventListener("click", undo);
  $("open-recent").addEventListener("click", openRecent);
  $("revise-cancel").addEventListener("click", function () { leaveRevision(null); });
  window.addEventListener("pagehide", releaseLeases);
  // Back from the browser's page cache after a release: the leases are gone, so load afresh.
  window.addEventListener("pageshow", function (event) { if (event.persisted) window.location.reload(); });

  if (config.contentWarningPending) {
    $("content-warning-ack").addEventListener("click", acknowledgeWarning);
    $("content-warning-ack").focus();
  } else {
    advance();
  }
})();
