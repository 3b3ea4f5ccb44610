"""A gentle latency probe: one keep-alive connection, one request every INTERVAL seconds, for SECONDS.
Prints "p50 p99 max errors count" in milliseconds. Used by scripts/bench-login.sh to see whether the
JWKS and token endpoints keep answering during a login storm (a probe that itself floods the server
would measure something else).

Usage: latency_probe.py URL SECONDS [INTERVAL] [BASIC_AUTH_B64]   (a BASIC_AUTH makes it a POST of
grant_type=client_credentials)
"""

import http.client
import sys
import time
from urllib.parse import urlparse

url, secs = sys.argv[1], float(sys.argv[2])
interval = float(sys.argv[3]) if len(sys.argv) > 3 else 0.02
basic = sys.argv[4] if len(sys.argv) > 4 else None
u = urlparse(url)
conn = http.client.HTTPConnection(u.hostname, u.port, timeout=30)
lat, errors = [], 0
end = time.monotonic() + secs
while time.monotonic() < end:
    t0 = time.monotonic()
    try:
        if basic:
            conn.request("POST", u.path, body="grant_type=client_credentials",
                         headers={"Authorization": "Basic " + basic,
                                  "Content-Type": "application/x-www-form-urlencoded"})
        else:
            conn.request("GET", u.path)
        r = conn.getresponse()
        r.read()
        if r.status != 200:
            errors += 1
    except Exception:
        errors += 1
        conn = http.client.HTTPConnection(u.hostname, u.port, timeout=30)
    lat.append((time.monotonic() - t0) * 1000)
    time.sleep(max(0.0, interval - (time.monotonic() - t0)))
lat.sort()
pick = lambda q: lat[min(len(lat) - 1, int(q * len(lat)))]
print(f"{pick(0.5):.2f} {pick(0.99):.2f} {lat[-1]:.2f} {errors} {len(lat)}")
