/* JSON calls to Arbiter's API from a page (session cookie + CSRF header), and a clock of visible-tab time.
 * Any page can use it: window.ArbiterApi.json("POST", url, body) resolves to the parsed body (null for 204)
 * or rejects with an ArbiterApi.ApiError {status, code, detail}; a network failure rejects with a TypeError.
 */
(function () {
  "use strict";

  function csrfToken() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    if (meta) return meta.getAttribute("content");
    var match = document.cookie.match(/(?:^|; )csrftoken=([^;]+)/);
    return match ? decodeURIComponent(match[1]) : "";
  }

  function ApiError(status, body) {
    this.status = status;
    this.code = (body && body.code) || "";
    this.detail = (body && body.detail) || "The server answered " + status + ".";
  }

  function json(method, url, body) {
    var options = {
      method: method,
      credentials: "same-origin",
      headers: { Accept: "application/json", "X-CSRFToken": csrfToken() },
    };
    if (body !== undefined) {
      options.headers["Content-Type"] = "application/json";
      options.body = JSON.stringify(body);
    }
    var sentAt = Date.now();
    return fetch(url, options).then(function (response) {
      if (response.status === 204) return null;
      return response.json().catch(function () { return null; }).then(function (data) {
        if (!response.ok) throw new ApiError(response.status, data);
        if (data && typeof data === "object") {
          // Server times (leases) are measured against its Date header, not the local clock.
          data._serverDate = Date.parse(response.headers.get("Date") || "") || sentAt;
          data._receivedAt = Date.now();
        }
        return data;
      });
    });
  }

  /* Milliseconds the tab was visible since start() (Page Visibility API): hidden time is not work time. */
  function visibleClock() {
    var spent = 0, since = null;
    document.addEventListener("visibilitychange", function () {
      if (document.hidden && since !== null) { spent += performance.now() - since; since = null; }
      else if (!document.hidden && since === null) { since = performance.now(); }
    });
    return {
      start: function () { spent = 0; since = document.hidden ? null : performance.now(); },
      read: function () { return Math.round(spent + (since === null ? 0 : performance.now() - since)); },
    };
  }

  window.ArbiterApi = { ApiError: ApiError, json: json, csrfToken: csrfToken, visibleClock: visibleClock };
})();
