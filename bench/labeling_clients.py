"""Simulated labelers for the benchmark: keep-alive HTTP clients that ask for the next pair and submit it."""

from __future__ import annotations

import http.client
import json
import random
import subprocess
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field

API = "/api/v1"


def server_wait(server: subprocess.Popen, *, name: str, url: str, token: str, timeout_s: float, poll_s: float) -> None:
    """Return once `server` answers an authenticated GET of `url`; RuntimeError (server stopped) if it exits,
    refuses the token or stays silent for `timeout_s`. Both benched servers (Arbiter, Label Studio) start so."""
    deadline = time.time() + timeout_s
    while time.time() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"{name} exited with code {server.returncode}")
        try:
            urllib.request.urlopen(urllib.request.Request(url, headers={"Authorization": f"Token {token}"}), timeout=5)
            return
        except urllib.error.HTTPError as exc:
            server.terminate()
            raise RuntimeError(f"{name} answered {exc.code} to an authenticated request") from exc
        except OSError:
            time.sleep(poll_s)
    server.terminate()
    raise RuntimeError(f"{name} did not answer within {timeout_s:.0f} s")


@dataclass
class ClientLog:
    """What one client process saw; latencies in ms, only for requests started inside the measured window."""

    next_ms: list[float] = field(default_factory=list)
    submit_ms: list[float] = field(default_factory=list)
    judgment_ms: list[float] = field(default_factory=list)
    # (token index, assignment id, comparison id) of every 2xx submit, warm-up included, for the integrity check.
    stored: list[tuple[int, int, int]] = field(default_factory=list)
    statuses: dict[str, int] = field(default_factory=dict)
    judgments_in_window: int = 0
    queue_empty: int = 0
    cpu_s: float = 0.0

    def count(self, key: str) -> None:
        self.statuses[key] = self.statuses.get(key, 0) + 1

    def merge(self, other: ClientLog) -> None:
        self.next_ms += other.next_ms
        self.submit_ms += other.submit_ms
        self.judgment_ms += other.judgment_ms
        self.stored += other.stored
        for key, n in other.statuses.items():
            self.statuses[key] = self.statuses.get(key, 0) + n
        self.judgments_in_window += other.judgments_in_window
        self.queue_empty += other.queue_empty
        self.cpu_s += other.cpu_s


def random_judgment(rng: random.Random) -> dict:
    """A judgment whose confidence leans the same way as the choice (1 = left much better, 9 = right)."""
    choice = rng.choices(["a", "b", "tie"], weights=[45, 45, 10])[0]
    confidence = {"a": rng.randint(1, 4), "b": rng.randint(6, 9), "tie": 5}[choice]
    body = {"choice": choice, "confidence": confidence, "time_spent_ms": rng.randint(2_000, 60_000)}
    if rng.random() < 0.2:
        body["rationale"] = "The left answer keeps the main point; the right one drifts."
    return body


class Labeler:
    """An Arbiter labeler. `carried`: each submit asks for the next assignment in its answer (one request per
    judgment); otherwise each judgment is a next-pair request and a submit."""

    prefix = API

    def __init__(self, *, port: int, token: str, index: int, slug: str, seed: int, carried: bool = True) -> None:
        self.carried = carried
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        self.headers = {"Authorization": f"Token {token}", "Content-Type": "application/json"}
        self.index = index
        self.slug = slug
        self.rng = random.Random(seed)

    def request(self, method: str, path: str, body: dict | None = None) -> tuple[int, dict]:
        """(HTTP status, JSON body); status 0 when the request failed at the connection level."""
        try:
            return self._request(method, path, body)
        except (http.client.HTTPException, OSError, ValueError) as exc:
            self.conn.close()
            return 0, {"error": type(exc).__name__}

    def _request(self, method: str, path: str, body: dict | None) -> tuple[int, dict]:
        payload = json.dumps(body) if body is not None else None
        try:
            self.conn.request(method, self.prefix + path, body=payload, headers=self.headers)
            response = self.conn.getresponse()
            raw = response.read()
        except (http.client.HTTPException, OSError):
            # The server closed the keep-alive connection (worker recycled); reconnect once.
            self.conn.close()
            self.conn.request(method, self.prefix + path, body=payload, headers=self.headers)
            response = self.conn.getresponse()
            raw = response.read()
        return response.status, (json.loads(raw) if raw else {})

    # --- the two calls of the loop; the Label Studio client overrides them ---

    def next_item(self) -> tuple[int, dict, bool]:
        """(status, item, queue empty)."""
        status, body = self.request("POST", f"/projects/{self.slug}/next/", {})
        return status, body, status == 404 and body.get("code") == "queue_empty"

    def submit(self, item: dict) -> tuple[int, int | None, dict | None, int]:
        """(status, stored id, the next item if the answer carried one, the submitted item's id)."""
        judgment = random_judgment(self.rng)
        if self.carried:
            judgment["next"] = {}
        status, result = self.request("POST", f"/assignments/{item['assignment_id']}/submit/", judgment)
        if not 200 <= status < 300:
            return status, None, None, item["assignment_id"]
        return status, result["comparison_id"], result.get("next"), item["assignment_id"]

    def run(self, *, measure_from: float, until: float, think_s: float, log: ClientLog, lock: threading.Lock) -> None:
        carried: dict | None = None
        while time.perf_counter() < until:
            started = time.perf_counter()
            if carried is not None:
                status, item, empty, next_done = 200, carried, False, started
            else:
                status, item, empty = self.next_item()
                next_done = time.perf_counter()
                with lock:
                    log.count(f"next {status}")
                    if started >= measure_from:
                        log.next_ms.append((next_done - started) * 1000)
            measured, carried = started >= measure_from, None
            if empty:
                with lock:
                    log.queue_empty += 1
                return
            if status != 200:
                time.sleep(0.05)
                continue
            if think_s:
                time.sleep(self.rng.uniform(0.5, 1.5) * think_s)
            submit_started = time.perf_counter()
            status, stored_id, carried, item_id = self.submit(item)
            done = time.perf_counter()
            with lock:
                log.count(f"submit {status}")
                if stored_id is not None:
                    log.stored.append((self.index, item_id, stored_id))
                if measured and done <= until:
                    log.submit_ms.append((done - submit_started) * 1000)
                    if stored_id is not None:
                        log.judgment_ms.append((done - started - (submit_started - next_done)) * 1000)
                        log.judgments_in_window += 1
        self.conn.close()


class LabelStudioLabeler(Labeler):
    """The same loop against Label Studio: GET /api/projects/{id}/next, POST /api/tasks/{id}/annotations/."""

    prefix = "/api"

    def next_item(self) -> tuple[int, dict, bool]:
        status, body = self.request("GET", f"/projects/{self.slug}/next")
        return status, body, status == 404

    def submit(self, item: dict) -> tuple[int, int | None, dict | None, int]:
        selected = self.rng.choice(["left", "right"])
        annotation = {
            "result": [
                {
                    "from_name": "comparison",
                    "to_name": "answer1",
                    "type": "pairwise",
                    "value": {"selected": selected},
                }
            ],
            "lead_time": self.rng.uniform(2.0, 60.0),
        }
        status, result = self.request("POST", f"/tasks/{item['id']}/annotations/", annotation)
        if not 200 <= status < 300:
            return status, None, None, item["id"]
        return status, result["id"], None, item["id"]


def clients_run(
    *,
    port: int,
    tokens: list[tuple[int, str]],
    slug: str,
    start_at: float,
    warmup_s: float,
    duration_s: float,
    think_s: float,
    carried: bool = True,
    label_studio: bool = False,
) -> ClientLog:
    """Run one thread per labeler in this process. `start_at` is a time.time() shared by all client processes."""
    log, lock = ClientLog(), threading.Lock()
    cpu_started = time.process_time()
    kind = LabelStudioLabeler if label_studio else Labeler
    labelers = [kind(port=port, token=t, index=i, slug=slug, seed=i, carried=carried) for i, t in tokens]
    time.sleep(max(0.0, start_at - time.time()))
    now = time.perf_counter()
    measure_from, until = now + warmup_s, now + warmup_s + duration_s
    threads = [
        threading.Thread(
            target=lab.run,
            kwargs={"measure_from": measure_from, "until": until, "think_s": think_s, "log": log, "lock": lock},
        )
        for lab in labelers
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    log.cpu_s = time.process_time() - cpu_started
    return log
