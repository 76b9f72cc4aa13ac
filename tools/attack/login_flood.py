#!/usr/bin/env python3
"""Login flood: N parallel wrong-password console logins against a running
Stufe server, each from its own address (X-Forwarded-For; start the server
with STUFE_TRUST_FORWARDED_FOR=1 so the per-address throttle does not answer
them first) and for its own login, while the server's resident memory is
sampled from /proc. Prints the peak and the answers by status.

    python3 tools/attack/login_flood.py --url http://127.0.0.1:18080 --pid PID --parallel 500
"""
import argparse, collections, re, threading, time, urllib.error, urllib.parse, urllib.request

def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0

def attempt(url, n, results):
    headers = {"X-Forwarded-For": f"198.18.{n // 250}.{n % 250 + 1}"}
    try:
        page = urllib.request.urlopen(urllib.request.Request(url + "/console/login", headers=headers), timeout=60)
        body = page.read().decode()
        cookie = (page.headers.get("Set-Cookie") or "").split(";")[0]
        token = re.search(r'name="csrf" value="([0-9a-f]*)"', body)
        form = {"login": f"nobody{n}", "password": "wrong-password"}
        if token:
            form["csrf"] = token.group(1)
        request = urllib.request.Request(url + "/console/login", data=urllib.parse.urlencode(form).encode(),
                                         headers={**headers, "Cookie": cookie})
        status = urllib.request.urlopen(request, timeout=60).status
    except urllib.error.HTTPError as err:
        status = err.code
    except Exception as err:  # noqa: BLE001 - reported as is
        status = type(err).__name__
    results.append(status)

def main():
    p = argparse.ArgumentParser()
    p.add_argument("--url", required=True)
    p.add_argument("--pid", type=int, required=True)
    p.add_argument("--parallel", type=int, default=500)
    a = p.parse_args()
    before = rss_kib(a.pid)
    results, peak, done = [], [before], threading.Event()
    def sample():
        while not done.is_set():
            peak[0] = max(peak[0], rss_kib(a.pid))
            time.sleep(0.01)
    sampler = threading.Thread(target=sample); sampler.start()
    started = time.time()
    threads = [threading.Thread(target=attempt, args=(a.url, n, results)) for n in range(a.parallel)]
    for t in threads: t.start()
    for t in threads: t.join()
    took = time.time() - started
    done.set(); sampler.join()
    print(f"{a.parallel} parallel bad logins in {took:.1f} s: server RSS {before / 1024:.0f} MiB before, "
          f"peak {peak[0] / 1024:.0f} MiB, after {rss_kib(a.pid) / 1024:.0f} MiB; answers {dict(collections.Counter(results))}")

main()
