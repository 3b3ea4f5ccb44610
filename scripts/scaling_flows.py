#!/usr/bin/env python3
"""Drives each flow of the IdP N times against a running server on PostgreSQL and prints, per flow,
the statements PostgreSQL ran for it (pg_stat_statements, reset before each flow) and the
transactions it committed (pg_stat_database.xact_commit). Called by scripts/scaling-measure.sh,
which starts the database and the server; see docs/SCALING.md.

Usage: scaling_flows.py BASE_URL N [FAMILIES_FILE]   with PSQL (a psql command line for the `postgres` database),
AUTH_DB (the IdP's database name), WEB_SECRET, CC_SECRET and USER_PREFIX in the
environment (users USER_PREFIX0 .. USER_PREFIX{N-1} exist, password "scaling-password-1").
With FAMILIES_FILE, only signs each user in and writes one live refresh token per line there.
"""

import base64
import hashlib
import html
import os
import re
import secrets
import subprocess
import sys
import time
from urllib.parse import parse_qs, urlencode, urlparse

import requests

BASE, N = sys.argv[1], int(sys.argv[2])
PSQL = os.environ.get("PSQL", "psql").split()
DB = os.environ.get("AUTH_DB", "auth")
PASSWORD = "scaling-password-1"
REDIRECT = "https://app.example/cb"
WEB = ("scaling-web", os.environ["WEB_SECRET"])
CC = ("scaling-cc", os.environ.get("CC_SECRET", ""))
USERS = [f"{os.environ['USER_PREFIX']}{i}" for i in range(N)]
# PostgreSQL publishes a backend's transaction counts when it has been idle for a while (PG 15:
# at most every second while busy, 10 s when idle): wait that long before reading them.
STATS_SETTLE_SECS = 11.5


def psql(sql):
    out = subprocess.run(PSQL + ["-At", "-F", "\t", "-c", sql], check=True,
                         capture_output=True, text=True).stdout
    return [line.split("\t") for line in out.splitlines() if line]


def xacts():
    """Commits and rollbacks in the IdP's database; WAL records, bytes and syncs (flushes to disk) of
    the whole cluster (nothing else writes while a flow is measured)."""
    psql("select pg_stat_clear_snapshot()")
    (c, r), = psql(f"select xact_commit, xact_rollback from pg_stat_database where datname = '{DB}'")
    (rec, byt, syn), = psql("select wal_records, wal_bytes, wal_sync from pg_stat_wal")
    return int(c), int(r), int(rec), int(byt), int(syn)


def kind(query):
    q = query.lstrip().upper()
    for k in ("SELECT", "INSERT", "UPDATE", "DELETE"):
        if q.startswith(k):
            return "read" if k == "SELECT" else "write"
    if q.startswith(("BEGIN", "START", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE")):
        return "txn"
    return "other"


def short(query, width=150):
    q = re.sub(r"\s+", " ", query)
    # sea-orm lists every column: keep the table and the conditions readable.
    q = re.sub(r'SELECT ("[a-z_]+"\."[a-z_]+", )+"[a-z_]+"\."[a-z_]+"', "SELECT <columns>", q)
    q = re.sub(r'INSERT INTO ("[a-z_]+") \([^)]*\) VALUES \([^)]*\)', r"INSERT INTO \1 (...) VALUES (...)", q)
    return q if len(q) <= width else q[: width - 3] + "..."


def measure(name, iterations, run):
    """Resets the statistics, runs `run()` and prints what PostgreSQL did for it."""
    time.sleep(STATS_SETTLE_SECS)
    c0, r0, rec0, byt0, syn0 = xacts()
    psql("select pg_stat_statements_reset()")
    t0 = time.monotonic()
    result = run()
    secs = time.monotonic() - t0
    rows = psql(
        "select s.calls, s.rows, round(s.mean_exec_time::numeric, 3), s.query from pg_stat_statements s "
        f"join pg_database d on d.oid = s.dbid where d.datname = '{DB}' order by s.calls desc, s.query")
    time.sleep(STATS_SETTLE_SECS)
    c1, r1, rec1, byt1, syn1 = xacts()
    per = lambda x: f"{int(x) / iterations:.2f}".rstrip("0").rstrip(".")
    totals = {"read": 0, "write": 0, "txn": 0, "other": 0}
    print(f"\n### {name}\n")
    print(f"{iterations} iterations in {secs:.1f} s (driver: one request at a time).\n")
    if rows:
        print("| calls / iteration | rows / iteration | mean ms | kind | statement |")
        print("|---|---|---|---|---|")
    for calls, nrows, mean, query in rows:
        k = kind(query)
        totals[k] += int(calls)
        print(f"| {per(calls)} | {per(nrows)} | {mean} | {k} | `{short(query)}` |")
    print(f"\nper iteration: **{per(totals['read'])} reads, {per(totals['write'])} writes**, "
          f"{per(totals['txn'])} BEGIN/COMMIT/ROLLBACK, {per(totals['other'])} other; "
          f"transactions committed (pg_stat_database.xact_commit; a statement outside BEGIN..COMMIT is "
          f"one) **{per(c1 - c0)}**, rolled back {per(r1 - r0)}; WAL: {per(rec1 - rec0)} records, "
          f"{per(byt1 - byt0)} bytes, **{per(syn1 - syn0)} flushes** (pg_stat_wal.wal_sync)")
    return result


def pkce():
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


def hidden_fields(body):
    return [(n, html.unescape(v)) for n, v in
            re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', body)]


def code_of(res):
    assert res.status_code in (302, 303), (res.status_code, res.text[:300])
    q = parse_qs(urlparse(res.headers["location"]).query)
    assert "code" in q, res.headers["location"]
    return q["code"][0]


class Browser:
    def __init__(self, user):
        self.user, self.http = user, requests.Session()
        self.verifier = None

    def authorize_url(self, scope="openid offline_access"):
        self.verifier, challenge = pkce()
        return f"{BASE}/authorize?" + urlencode({
            "response_type": "code", "client_id": WEB[0], "redirect_uri": REDIRECT, "scope": scope,
            "state": "s", "nonce": secrets.token_urlsafe(8), "code_challenge": challenge,
            "code_challenge_method": "S256"})


def token(auth, **form):
    res = requests.post(f"{BASE}/token", auth=auth, data=form)
    assert res.status_code == 200, (res.status_code, res.text)
    return res.json()


def main():
    psql_ok = psql("select count(*) from pg_stat_statements")
    assert psql_ok
    browsers = [Browser(u) for u in USERS]
    half = N // 2

    s = requests.Session()
    measure("GET /.well-known/openid-configuration and GET /jwks (one of each per iteration)", N,
            lambda: [s.get(f"{BASE}/{p}").raise_for_status()
                     for _ in range(N) for p in (".well-known/openid-configuration", "jwks")])
    measure("POST /token, client credentials (ES256)", N,
            lambda: [token(CC, grant_type="client_credentials") for _ in range(N)])

    pages = {}

    def login_pages():
        for b in browsers:
            res = b.http.get(b.authorize_url(), allow_redirects=False)
            assert res.status_code == 200 and 'id="login-form"' in res.text, res.status_code
            pages[b.user] = res.text
    measure("GET /authorize without a session (the login page)", N, login_pages)

    codes = {}

    def sign_in(subset, key):
        for b in subset:
            fields = hidden_fields(pages[b.user]) + [("username", b.user), ("password", PASSWORD)]
            res = b.http.post(f"{BASE}/login", data=fields, allow_redirects=False)
            codes[b.user] = (code_of(res), b.verifier)
            assert key in b.http.cookies, list(b.http.cookies.keys())
    measure("POST /login, a browser new to the account (sign-in: throttle, argon2id, session, code)", N,
            lambda: sign_in(browsers, "auth_session"))

    tokens = {}

    def exchange(subset):
        for b in subset:
            code, verifier = codes.pop(b.user)
            tokens[b.user] = token(WEB, grant_type="authorization_code", code=code,
                                   redirect_uri=REDIRECT, code_verifier=verifier)
    measure("POST /token, authorization_code (with offline_access: a refresh-token family)", N,
            lambda: exchange(browsers))

    def refresh_all():
        for b in browsers:
            t = tokens[b.user]
            new = token(WEB, grant_type="refresh_token", refresh_token=t["refresh_token"])
            t["refresh_token"], t["access_token"] = new["refresh_token"], new["access_token"]
    measure("POST /token, refresh_token (rotation)", N, refresh_all)

    def sso():
        for b in browsers:
            res = b.http.get(b.authorize_url(scope="openid"), allow_redirects=False)
            codes[b.user] = (code_of(res), b.verifier)
    measure("GET /authorize with a live SSO session (the next app: a code without a password)", N, sso)
    measure("POST /token, authorization_code without offline_access (no refresh token)", N,
            lambda: [token(WEB, grant_type="authorization_code", code=codes[b.user][0],
                           redirect_uri=REDIRECT, code_verifier=codes.pop(b.user)[1])
                     for b in browsers])

    measure("GET /userinfo", N, lambda: [
        requests.get(f"{BASE}/userinfo", headers={"Authorization": f"Bearer {tokens[b.user]['access_token']}"})
        .raise_for_status() for b in browsers])

    def introspect(kind_):
        for b in browsers:
            res = requests.post(f"{BASE}/introspect", auth=WEB, data={"token": tokens[b.user][kind_]})
            assert res.status_code == 200 and res.json()["active"], res.text
    measure("POST /introspect, an access token", N, lambda: introspect("access_token"))
    measure("POST /introspect, a refresh token", N, lambda: introspect("refresh_token"))

    def revoke(subset, kind_):
        for b in subset:
            res = requests.post(f"{BASE}/revoke", auth=WEB, data={"token": tokens[b.user][kind_]})
            assert res.status_code == 200, res.text
    measure("POST /revoke, an access token (by jti)", N, lambda: revoke(browsers, "access_token"))
    measure("POST /revoke, a refresh token (its whole family)", half,
            lambda: revoke(browsers[:half], "refresh_token"))

    def logout(subset):
        for b in subset:
            res = b.http.get(f"{BASE}/logout?" + urlencode({"id_token_hint": tokens[b.user]["id_token"]}),
                             allow_redirects=False)
            assert res.status_code in (200, 302, 303), res.status_code
            assert "auth_session" not in b.http.cookies or not b.http.cookies.get("auth_session"), \
                "session cookie kept"
    measure("GET /logout with id_token_hint (ends the session and its live refresh-token family)",
            N - half, lambda: logout(browsers[half:]))

    def again():
        for b in browsers[half:]:
            res = b.http.get(b.authorize_url(), allow_redirects=False)
            pages[b.user] = res.text
    again()
    measure("POST /login, a returning browser (device cookie: only its own counter)", N - half,
            lambda: sign_in(browsers[half:], "auth_device"))

    measure("GET /revocations (the feed; rendered at most once a second)", N,
            lambda: [s.get(f"{BASE}/revocations").raise_for_status() for _ in range(N)])


def families(path):
    """Signs every user in once and writes one live refresh token per line to `path` (for a load
    test of refresh-token rotation)."""
    with open(path, "w") as out:
        for user in USERS:
            b = Browser(user)
            page = b.http.get(b.authorize_url(), allow_redirects=False).text
            fields = hidden_fields(page) + [("username", user), ("password", PASSWORD)]
            code = code_of(b.http.post(f"{BASE}/login", data=fields, allow_redirects=False))
            t = token(WEB, grant_type="authorization_code", code=code, redirect_uri=REDIRECT,
                      code_verifier=b.verifier)
            out.write(t["refresh_token"] + "\n")


if __name__ == "__main__":
    if len(sys.argv) > 3:
        families(sys.argv[3])
    else:
        main()
