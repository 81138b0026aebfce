#!/usr/bin/env python3
"""Issues repository access tokens through scopegate's admin API, COUNT of them over CONCURRENCY
keep-alive connections, and appends one line per token to OUT: "SECRET URI ID", where URI is a
request the token is allowed (GET of its repository's pull requests). Prints "COUNT SECONDS RATE"
(tokens per second, measured from the first request to the last answer).

    issue.py PORT ADMIN_KEY WORKSPACE REPO_PATTERN NREPOS COUNT CONCURRENCY OUT NAME_PREFIX EXPIRES

Token i goes to repository REPO_PATTERN % (i % NREPOS), e.g. "r%03d". Any answer but 201 stops
it with an error (exit 1). Used by host/bench/scale.sh.
"""
import http.client
import json
import sys
import threading
import time


def main():
    (port, key, ws, pattern, nrepos, count, conc, out, prefix, expires) = sys.argv[1:11]
    port, nrepos, count, conc = int(port), int(nrepos), int(count), int(conc)
    headers = {"Authorization": "Bearer " + key, "Content-Type": "application/json"}
    lock = threading.Lock()
    state = {"next": 0, "error": None}
    lines = [None] * count

    def worker():
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        while True:
            with lock:
                i = state["next"]
                if i >= count or state["error"]:
                    return
                state["next"] = i + 1
            repo = pattern % (i % nrepos)
            body = json.dumps({"name": "%s-%d" % (prefix, i), "scopes": ["pullrequest"],
                               "expires_at": expires})
            try:
                conn.request("POST", "/admin/v1/workspaces/%s/repositories/%s/access-tokens"
                             % (ws, repo), body=body, headers=headers)
                r = conn.getresponse()
                data = r.read()
            except (OSError, http.client.HTTPException) as e:
                with lock:
                    state["error"] = "token %d: %s" % (i, e)
                return
            if r.status != 201:
                with lock:
                    state["error"] = "token %d: %d %s" % (i, r.status, data[:300])
                return
            v = json.loads(data)
            lines[i] = "%s /2.0/repositories/%s/%s/pullrequests %s\n" % (v["token"], ws, repo, v["id"])

    started = time.monotonic()
    threads = [threading.Thread(target=worker) for _ in range(conc)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - started
    if state["error"]:
        sys.exit("issue.py: " + state["error"])
    with open(out, "a") as f:
        f.writelines(lines)
    print("%d %.3f %.1f" % (count, elapsed, count / elapsed if elapsed > 0 else 0))


if __name__ == "__main__":
    main()
