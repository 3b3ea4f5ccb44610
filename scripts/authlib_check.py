"""The authorization-code flow through Python's authlib, unmodified, against a running auth-server.

authlib (https://authlib.org) plays the relying party: it builds the authorization URL with PKCE S256
and a nonce, redeems the code, validates the ID token (signature from the JWKS, iss, aud, nonce,
at_hash, exp, and `acr` as a required claim with the expected level), refreshes, calls userinfo,
introspects and revokes. `requests` plays the browser that fills in the IdP's login form. A last run
asks for multi-factor sign-in with `acr_values`: the browser enrolls TOTP on the second-factor page
(reading the key off the page; the code is computed here, RFC 6238 with the standard library), and
authlib requires the multi-factor `acr` in the ID token. Last, a partner registered with a JWK Set
authenticates with authlib's `PrivateKeyJWT` (RFC 7523 §2.2, ES256): client credentials, then
introspection and revocation with fresh assertions (each for the endpoint it is sent to), and a
replayed assertion is refused. Every step asserts what it got; any failure exits non-zero.

Usage: authlib_check.py ISSUER CLIENT_ID CLIENT_SECRET PUBLIC_CLIENT_ID USERNAME PASSWORD
                        PARTNER_ID PARTNER_PRIVATE_KEY_PEM
"""

import base64
import hashlib
import hmac
import re
import secrets
import struct
import sys
import time
from html import unescape
from urllib.parse import parse_qs, urlparse

import requests
from authlib.integrations.requests_client import OAuth2Session
from authlib.jose import JsonWebKey, jwt
from authlib.oauth2.rfc7523 import PrivateKeyJWT, private_key_jwt_sign
from authlib.oidc.core import CodeIDToken
from joserfc.jwk import ECKey

issuer, client_id, client_secret, public_id, username, password = sys.argv[1:7]
partner_id, partner_pem = sys.argv[7:9]
REDIRECT = "http://127.0.0.1:9/cb"
SFA = "urn:auth-server:acr:sfa"
MFA = "urn:auth-server:acr:mfa"


def check(cond, what):
    if not cond:
        sys.exit(f"authlib check FAILED: {what}")
    print(f"ok - {what}")


meta = requests.get(f"{issuer}/.well-known/openid-configuration", timeout=10).json()
check(meta["issuer"] == issuer, "discovery names the issuer")
check(meta["acr_values_supported"] == [SFA, MFA], "discovery lists the two acr values")
keys = JsonWebKey.import_key_set(requests.get(meta["jwks_uri"], timeout=10).json())


def totp(key_base32, at):
    """RFC 6238 with RFC 4226's dynamic truncation: HMAC-SHA-1, 30-second steps, 6 digits."""
    key = base64.b32decode(key_base32 + "=" * (-len(key_base32) % 8))
    mac = hmac.new(key, struct.pack(">Q", int(at) // 30), hashlib.sha1).digest()
    offset = mac[-1] & 0x0F
    return "%06d" % ((struct.unpack(">I", mac[offset:offset + 4])[0] & 0x7FFFFFFF) % 1000000)


def form_of(page):
    action = unescape(re.search(r'<form[^>]*action="([^"]+)"', page.text).group(1))
    fields = {unescape(n): unescape(v) for n, v in
              re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', page.text)}
    return action, fields


def browser_sign_in(url):
    """The user's part: open the authorization URL, fill in the login form, return the redirect."""
    browser = requests.Session()
    page = browser.get(url, allow_redirects=False, timeout=10)
    check(page.status_code == 200 and 'id="login-form"' in page.text, "the IdP shows its login page")
    action, fields = form_of(page)
    fields.update(username=username, password=password)
    done = browser.post(action, data=fields, allow_redirects=False, timeout=10)
    if 'id="mfa-form"' in done.text:
        # Multi-factor sign-in asked for: enroll TOTP with the key the page shows, answer its code.
        check('id="totp-qr"' in done.text, "the second-factor page shows a QR code to enroll")
        key = unescape(re.search(r'id="totp-secret">([^<]+)<', done.text).group(1))
        action, fields = form_of(done)
        fields.update(code=totp(key, time.time()))
        done = browser.post(action, data=fields, allow_redirects=False, timeout=10)
    check(done.status_code in (302, 303), "signing in redirects back to the client")
    return done.headers["Location"]


def run(client, label, acr=SFA, amr=("pwd",), **extra):
    verifier = secrets.token_urlsafe(48)
    nonce = secrets.token_urlsafe(16)
    url, state = client.create_authorization_url(
        meta["authorization_endpoint"], code_verifier=verifier, nonce=nonce, **extra)
    callback = browser_sign_in(url)
    query = parse_qs(urlparse(callback).query)
    check(query["state"] == [state], f"{label}: state comes back")
    check(query["iss"] == [issuer], f"{label}: RFC 9207 iss comes back")
    token = client.fetch_token(meta["token_endpoint"], authorization_response=callback,
                               code_verifier=verifier)
    check(token["token_type"] == "Bearer" and "refresh_token" in token,
          f"{label}: code redeemed for access, ID and refresh tokens")
    claims = jwt.decode(token["id_token"], keys, claims_cls=CodeIDToken,
                        claims_options={"iss": {"essential": True, "value": issuer},
                                        "acr": {"essential": True, "value": acr}},
                        claims_params={"nonce": nonce, "client_id": client.client_id,
                                       "access_token": token["access_token"]})
    claims.validate()
    check(claims["preferred_username"] == username,
          f"{label}: ID token verified by authlib (signature, iss, aud, nonce, at_hash, exp, acr)")
    check(claims["acr"] == acr and claims["amr"] == list(amr), f"{label}: acr {acr}, amr {list(amr)}")
    at = jwt.decode(token["access_token"], keys)
    at.validate()
    check(at["client_id"] == client.client_id, f"{label}: access token verifies against the JWKS")
    info = client.get(meta["userinfo_endpoint"], timeout=10).json()
    check(info["sub"] == claims["sub"], f"{label}: userinfo answers for the same subject")
    old_refresh = token["refresh_token"]
    new = client.refresh_token(meta["token_endpoint"], refresh_token=old_refresh)
    check(new["refresh_token"] != old_refresh, f"{label}: refresh rotates the refresh token")
    return new


confidential = OAuth2Session(client_id, client_secret, scope="openid profile email offline_access",
                             redirect_uri=REDIRECT, code_challenge_method="S256")
tokens = run(confidential, "confidential client")
intro = confidential.introspect_token(meta["introspection_endpoint"],
                                      token=tokens["access_token"]).json()
check(intro["active"] is True, "introspection: the access token is active")
resp = confidential.revoke_token(meta["revocation_endpoint"], token=tokens["refresh_token"],
                                 token_type_hint="refresh_token")
check(resp.status_code == 200, "revocation accepted")
intro = confidential.introspect_token(meta["introspection_endpoint"],
                                      token=tokens["refresh_token"]).json()
check(intro["active"] is False, "introspection: the revoked refresh token is inactive")

public = OAuth2Session(public_id, scope="openid profile offline_access", redirect_uri=REDIRECT,
                       code_challenge_method="S256", token_endpoint_auth_method="none")
run(public, "public client")
run(confidential, "multi-factor sign-in", acr=MFA, amr=("pwd", "otp", "mfa"), acr_values=MFA)

check("private_key_jwt" in meta["token_endpoint_auth_methods_supported"]
      and "ES256" in meta["token_endpoint_auth_signing_alg_values_supported"],
      "discovery lists private_key_jwt and its algorithms")
partner_key = ECKey.import_key(open(partner_pem, "rb").read())


class ShortPrivateKeyJWT(PrivateKeyJWT):
    """authlib's PrivateKeyJWT with a 2-minute assertion: by default authlib sets `exp` an hour
    ahead, and the IdP accepts at most `clients.assertion_max_lifetime_secs` (300 s). The signing
    is authlib's own `private_key_jwt_sign`, with its documented `expires_in`."""

    def sign(self, auth, token_endpoint):
        return private_key_jwt_sign(auth.client_secret, client_id=auth.client_id,
                                    token_endpoint=token_endpoint, claims=self.claims,
                                    header=self.headers, alg=self.alg, expires_in=120)



partner = OAuth2Session(partner_id, partner_key, token_endpoint_auth_method="private_key_jwt",
                        revocation_endpoint_auth_method="private_key_jwt")
# No fixed audience: authlib puts the URL of each request in `aud` (token, introspection, revocation).
partner.register_client_auth_method(ShortPrivateKeyJWT(alg="ES256"))
cc = partner.fetch_token(meta["token_endpoint"], grant_type="client_credentials")
check(cc["token_type"] == "Bearer" and jwt.decode(cc["access_token"], keys)["client_id"] == partner_id,
      "private_key_jwt: client credentials token for the partner")
intro = partner.introspect_token(meta["introspection_endpoint"], token=cc["access_token"]).json()
check(intro.get("active") is True and intro["client_id"] == partner_id,
      "private_key_jwt: introspection authenticated by an assertion")
resp = partner.revoke_token(meta["revocation_endpoint"], token=cc["access_token"])
check(resp.status_code == 200, "private_key_jwt: revocation authenticated by an assertion")
intro = partner.introspect_token(meta["introspection_endpoint"], token=cc["access_token"]).json()
check(intro.get("active") is False, "private_key_jwt: the revoked access token is inactive")
# authlib's default, an assertion valid for an hour, is refused with the reason.
stock = PrivateKeyJWT(alg="ES256").sign(partner, meta["token_endpoint"])
long_lived = requests.post(meta["token_endpoint"], timeout=10, data={
    "grant_type": "client_credentials", "client_assertion": stock,
    "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"})
check(long_lived.status_code == 401 and "ahead" in long_lived.json()["error_description"],
      "private_key_jwt: an assertion valid for an hour is refused (max lifetime)")
# The same assertion twice: the second is a replay.
assertion = ShortPrivateKeyJWT(alg="ES256").sign(partner, meta["token_endpoint"])
form = {"grant_type": "client_credentials", "client_assertion": assertion,
        "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"}
first = requests.post(meta["token_endpoint"], data=form, timeout=10)
again = requests.post(meta["token_endpoint"], data=form, timeout=10)
check(first.status_code == 200 and again.status_code == 401
      and again.json()["error"] == "invalid_client", "private_key_jwt: a replayed assertion is refused")
print("authlib check passed")
