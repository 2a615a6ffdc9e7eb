"""Fault scenarios around ``insights serve``: load from 20 clients, hostile requests, two review servers.

The servers are real processes (``python -m pipeline serve``) on 127.0.0.1; the clients are threads with
keep-alive ``http.client`` connections, and raw sockets for the requests no well-behaved client sends.
"""

from __future__ import annotations

import http.client
import json
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from benchmarks.faults_common import Outcome, child_env, run_to_end

HOST = "127.0.0.1"
#: Seconds a refused request may take to be answered (or its connection closed).
REFUSE_WITHIN_S = 5.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


@contextmanager
def server(run_dir: Path, *, reviewer: str | None = None) -> Iterator[tuple[int, subprocess.Popen[str]]]:
    """``insights serve run_dir`` on a free port, up and answering; stopped (SIGTERM) afterwards."""
    port = free_port()
    cmd = [sys.executable, "-m", "pipeline", "serve", str(run_dir), "--port", str(port)]
    cmd += ["--reviewer", reviewer] if reviewer else []
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=child_env())
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                if get(port, "/api/summary")[0] == 200:
                    break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"insights serve did not start: {proc.communicate()[1][-1000:]}")
            time.sleep(0.2)
        yield port, proc
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def get(port: int, path: str, *, conn: http.client.HTTPConnection | None = None) -> tuple[int, bytes]:
    own = conn is None
    conn = conn or http.client.HTTPConnection(HOST, port, timeout=10)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        if own:
            conn.close()


def post_json(port: int, path: str, body: Any, conn: http.client.HTTPConnection) -> tuple[int, bytes]:
    conn.request("POST", path, body=json.dumps(body), headers={"Content-Type": "application/json"})
    response = conn.getresponse()
    return response.status, response.read()


def load(run_dir: Path, *, requests: int = 1000, clients: int = 20) -> Outcome:
    """``requests`` GETs over every read endpoint from ``clients`` concurrent keep-alive clients."""
    out = Outcome("serve under load", command="python -m benchmarks.faults --only serve")
    themes = pd.read_parquet(run_dir / "themes.parquet")["theme_id"].astype(int).tolist()
    paths = ["/", "/api/summary", "/static/app.js", "/review"]
    for i, tid in enumerate(themes):
        paths += [f"/api/themes/{tid}", f"/api/themes/{tid}/verbatims?page={1 + i % 3}&per_page=50"]
    paths += [f"/api/search?q={q}&per_page=100" for q in ("crash", "login", "app", "update", "x", "")]
    plan = [paths[i % len(paths)] for i in range(requests)]
    with server(run_dir) as (port, proc):

        def client(share: list[str]) -> list[tuple[str, int, float]]:
            conn = http.client.HTTPConnection(HOST, port, timeout=30)
            got = []
            for path in share:
                t0 = time.perf_counter()
                try:
                    status, _ = get(port, path, conn=conn)
                except (OSError, http.client.HTTPException) as exc:
                    status = -1
                    conn.close()
                    conn = http.client.HTTPConnection(HOST, port, timeout=30)
                    out.notes.append(f"{path}: {type(exc).__name__}")
                got.append((path, status, time.perf_counter() - t0))
            conn.close()
            return got

        t0 = time.perf_counter()
        with ThreadPoolExecutor(clients) as pool:
            results = [r for part in pool.map(client, [plan[c::clients] for c in range(clients)]) for r in part]
        wall = time.perf_counter() - t0
        errors = [(p, s) for p, s, _ in results if s != 200]
        alive = proc.poll() is None
    latencies = np.array([s for _, _, s in results]) * 1000
    out.trials = len(results)
    if errors:
        out.fail("load", [f"{len(errors)} requests failed, e.g. {errors[:3]}"])
    if not alive:
        out.fail("load", ["the server died"])
    out.figures = {
        "requests": len(results), "clients": clients, "errors": len(errors), "p50_ms": round(float(np.percentile(
            latencies, 50)), 1), "p99_ms": round(float(np.percentile(latencies, 99)), 1),
        "max_ms": round(float(latencies.max()), 1), "requests_per_s": round(len(results) / wall, 1),
    }  # fmt: skip
    return out


def raw(port: int, data: bytes | list[bytes], *, pause: float = 0.0) -> tuple[str, float]:
    """Send raw bytes (pieces ``pause`` s apart); the status code of the answer, or 'closed' / 'no answer'."""
    t0 = time.perf_counter()
    sock = socket.create_connection((HOST, port), timeout=REFUSE_WITHIN_S)
    try:
        for piece in data if isinstance(data, list) else [data]:
            try:
                sock.sendall(piece)
            except OSError:  # the server refused and closed while we were still sending
                break
            time.sleep(pause)
        try:
            head = sock.recv(64)
        except TimeoutError:
            return "no answer", time.perf_counter() - t0
        except OSError:
            return "closed", time.perf_counter() - t0
        parts = head.split(b" ")
        return (
            parts[1].decode() if head.startswith(b"HTTP/") and len(parts) > 1 else "closed"
        ), time.perf_counter() - t0
    finally:
        sock.close()


def _request(method: str, path: str, headers: dict[str, str], body: bytes = b"") -> bytes:
    lines = [f"{method} {path} HTTP/1.1", f"Host: {HOST}", *(f"{k}: {v}" for k, v in headers.items())]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


JSON = {"Content-Type": "application/json"}
#: (name, request bytes, statuses that count as refused). 'closed': the server dropped the connection.
ABUSE: list[tuple[str, bytes | list[bytes], set[str]]] = [
    ("garbage bytes", b"\x00\x01\x02GARBAGE\xff\r\n\r\n", {"400", "closed"}),
    ("bad request line", b"GET\r\n\r\n", {"400", "closed"}),
    ("HTTP/0.9-style line", b"GET /\r\n\r\n", {"400", "closed"}),
    ("100 KB URL", _request("GET", "/api/search?q=" + "a" * 100_000, {}), {"400", "414", "431", "closed"}),
    ("64 KB header", _request("GET", "/", {"X-Big": "b" * 65_536}), {"400", "431", "closed"}),
    ("2,000 headers", _request("GET", "/", {f"X-H{i}": "v" for i in range(2000)}), {"400", "431", "closed"}),
    ("bad Content-Length", _request("POST", "/api/review/labels", {**JSON, "Content-Length": "abc"}),
     {"400", "closed"}),
    ("declared 100 MB body, none sent", _request("POST", "/api/review/labels",
     {**JSON, "Content-Length": "100000000"}), {"413", "closed"}),
    ("1 MB body", _request("POST", "/api/review/labels", {**JSON, "Content-Length": str(1 << 20)}, b"{" * (1 << 20)),
     {"413", "closed"}),
    ("chunked body past the limit", [_request("POST", "/api/review/labels", {**JSON, "Transfer-Encoding": "chunked"}),
     *([b"4000\r\n" + b"[" * 0x4000 + b"\r\n"] * 8)], {"413", "closed"}),
    ("body on a GET route", _request("GET", "/api/summary", {"Content-Length": str(1 << 20)}, b"x" * (1 << 20)),
     {"413", "closed"}),
    ("malformed JSON", _request("POST", "/api/review/labels", {**JSON, "Content-Length": "8"}, b'{"item":'),
     {"400"}),
    ("JSON nested 10,000 deep", _request("POST", "/api/review/labels", {**JSON, "Content-Length": "10000"},
     b"[" * 10_000), {"400", "413"}),
    ("not JSON content type", _request("POST", "/api/review/labels", {"Content-Length": "2"}, b"{}"), {"415"}),
    ("foreign Host", b"GET /api/summary HTTP/1.1\r\nHost: evil.example\r\n\r\n", {"400"}),
    ("cross-site Origin", _request("POST", "/api/review/curation", {**JSON, "Origin": "http://evil.example",
     "Content-Length": "2"}, b"{}"), {"403"}),
    ("page=10**30", _request("GET", "/api/search?q=a&page=" + "9" * 30, {}), {"200", "400"}),
    ("theme id 10**30", _request("GET", "/api/themes/" + "9" * 30, {}), {"404"}),
    ("verbatims of theme 10**30", _request("GET", "/api/themes/" + "9" * 30 + "/verbatims", {}), {"404"}),
    ("bad UTF-8 in the query", _request("GET", "/api/search?q=%ff%fe%00", {}), {"200", "400"}),
    ("path traversal", _request("GET", "/static/../../../../etc/passwd", {}), {"404", "400"}),
    ("unknown method", _request("BREW", "/", {}), {"405", "400", "501"}),
]  # fmt: skip


def abuse(run_dir: Path) -> Outcome:
    """Every request in ABUSE refused within REFUSE_WITHIN_S; idle half-open connections starve no one."""
    out = Outcome("serve: hostile requests", command="python -m benchmarks.faults --only serve")
    with server(run_dir) as (port, proc):
        slow = [socket.create_connection((HOST, port), timeout=5) for _ in range(50)]
        for s in slow:  # slowloris: a request head that never ends
            s.sendall(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
        answered: list[str] = []
        for name, data, refused in ABUSE:
            status, seconds = raw(port, data)
            out.trials += 1
            if status not in refused or seconds > REFUSE_WITHIN_S:
                out.fail(name, [f"answered {status} after {seconds:.1f} s; expected one of {sorted(refused)}"])
            answered.append(f"{name} {status}")
        out.notes.append(f"answers (within {REFUSE_WITHIN_S:.0f} s): " + "; ".join(answered))
        healthy = get(port, "/api/summary")[0] == 200
        for s in slow:
            s.close()
        time.sleep(0.5)
        if not healthy or proc.poll() is not None:
            out.fail("after the hostile requests", ["the server no longer answers"])
        proc.terminate()
        stderr = proc.communicate(timeout=10)[1]
    if "Traceback" in stderr:
        out.fail("server log", [f"a traceback: {stderr[stderr.index('Traceback') :][:300]!r}"])
    out.figures = {"requests": out.trials, "idle_connections": 50}
    return out


def _drawn_review_set(ref_run: Path, run_dir: Path, out: Outcome) -> list[str] | None:
    """A copy of the reference run with a 40-item review set drawn; the themed items' ids (None: it failed)."""
    shutil.copytree(ref_run, run_dir)
    drawn = run_to_end([sys.executable, "-m", "pipeline", "review", str(run_dir), "--size", "40"])
    if drawn.returncode != 0:
        out.fail("insights review", [drawn.stderr[-400:]])
        return None
    items = pd.read_parquet(run_dir / "review" / "items.parquet")
    return items[items["theme_id"] >= 0]["item_id"].tolist()


def two_review_servers(work: Path, ref_run: Path, *, answers_per_server: int = 200, threads: int = 8) -> Outcome:
    """Two servers on one run's review set, answers and curation edits from both at once: nothing lost or torn."""
    out = Outcome("two review servers, one labels.jsonl", command="python -m benchmarks.faults --only review")
    run_dir = work / "review-run"
    themed = _drawn_review_set(ref_run, run_dir, out)
    if themed is None:
        return out
    theme_ids = sorted(pd.read_parquet(run_dir / "themes.parquet")["theme_id"].astype(int).tolist())
    sent: list[tuple[str, str]] = []
    failures: list[str] = []
    lock = threading.Lock()
    with server(run_dir) as (port_a, _), server(run_dir) as (port_b, _):

        def reviewer(args: tuple[int, int]) -> None:
            port, t = args
            conn = http.client.HTTPConnection(HOST, port, timeout=30)
            name = f"r{port % 100}-{t}"
            for k in range(answers_per_server // threads):
                item = themed[k % len(themed)]
                if k % 5 == 4:  # a curation edit now and then: each thread renames its own theme
                    tid = theme_ids[(t + port) % len(theme_ids)]
                    body = {"action": "rename", "theme_id": tid, "label": f"{name} #{k}"}
                    status, text = post_json(port, "/api/review/curation", body, conn)
                else:
                    body = {"item_id": item, "reviewer": f"{name}.{k}", "theme": "yes" if k % 2 else "no"}
                    status, text = post_json(port, "/api/review/labels", body, conn)
                    with lock:
                        sent.append((item, f"{name}.{k}"))
                if status not in (200, 201):
                    with lock:
                        failures.append(f"{status}: {text[:120]!r}")

        jobs = [(port, t) for port in (port_a, port_b) for t in range(threads)]
        with ThreadPoolExecutor(len(jobs)) as pool:
            list(pool.map(reviewer, jobs))
    out.trials = len(sent)
    if failures:
        out.fail("posts", [f"{len(failures)} refused, e.g. {failures[:2]}"])
    raw_lines = (run_dir / "review" / "labels.jsonl").read_bytes().split(b"\n")
    records, torn = [], 0
    for line in filter(None, raw_lines):
        try:
            records.append(json.loads(line))
        except ValueError:
            torn += 1
    stored = {(r["item_id"], r["reviewer"]) for r in records}
    lost = set(sent) - stored
    if torn or lost or len(records) != len(sent):
        out.fail("labels.jsonl", [f"{len(sent)} sent, {len(records)} stored, {torn} torn, {len(lost)} lost"])
    try:
        import yaml

        curation = yaml.safe_load((run_dir / "curation.yaml").read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        out.fail("curation.yaml", [f"unreadable after concurrent edits: {exc}"])
    else:
        renamed = {int(k) for k, v in (curation.get("themes") or {}).items() if v.get("label")}
        wanted = {theme_ids[(t + p) % len(theme_ids)] for p in (port_a, port_b) for t in range(threads)}
        if not wanted <= renamed:
            out.fail("curation.yaml", [f"renames of themes {sorted(wanted - renamed)} lost"])
    out.figures = {"answers": len(sent), "stored": len(records), "torn": torn, "lost": len(lost)}
    return out


def killed_review_server(work: Path, ref_run: Path, *, posts: int = 300) -> Outcome:
    """kill -9 of a review server while answers stream in: every acknowledged answer is on disk, a torn
    last line (if any) is skipped, and the next server appends after it."""
    out = Outcome("review server killed mid-save", command="python -m benchmarks.faults --only review")
    run_dir = work / "killed-review-run"
    themed = _drawn_review_set(ref_run, run_dir, out)
    if themed is None:
        return out
    acked: list[tuple[str, str]] = []
    with server(run_dir) as (port, proc):

        def poster(t: int) -> None:
            conn = http.client.HTTPConnection(HOST, port, timeout=10)
            for k in range(posts // 4):
                body = {"item_id": themed[k % len(themed)], "reviewer": f"k{t}.{k}", "theme": "yes"}
                try:
                    status, _ = post_json(port, "/api/review/labels", body, conn)
                except (OSError, http.client.HTTPException):
                    return  # the server is gone
                if status == 201:
                    acked.append((body["item_id"], body["reviewer"]))

        with ThreadPoolExecutor(4) as pool:
            futures = [pool.submit(poster, t) for t in range(4)]
            deadline = time.monotonic() + 60
            while len(acked) < posts // 3 and time.monotonic() < deadline:
                time.sleep(0.01)
            proc.kill()
            for f in futures:
                f.result()
    from pipeline.review.labels import LabelStore

    with server(run_dir) as (port, _):  # a fresh server appends after whatever the kill left
        conn = http.client.HTTPConnection(HOST, port, timeout=10)
        status, _ = post_json(port, "/api/review/labels", {"item_id": themed[0], "reviewer": "after", "theme": "no"},
                              conn)  # fmt: skip
    stored = {(r["item_id"], r["reviewer"]) for r in LabelStore(run_dir).records()}
    lost = set(acked) - stored
    out.trials = len(acked) + 1
    if lost:
        out.fail("acknowledged answers", [f"{len(lost)} of {len(acked)} lost"])
    if status != 201 or (themed[0], "after") not in stored:
        out.fail("the next server", [f"answered {status}; its answer stored: {(themed[0], 'after') in stored}"])
    out.figures = {"acknowledged": len(acked), "stored": len(stored), "lost": len(lost)}
    return out
