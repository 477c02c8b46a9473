#!/usr/bin/env python3
"""Writes the seed corpus of fuzz_http (tests/fuzz/corpus/fuzz_http/): real
requests as bytes on the wire, with HS256 tokens signed by the key the
target verifies with (fuzz_http.cpp) and dated at its fixed clock. Valid
and invalid tokens, JSON bodies, query strings, pipelined and malformed
requests. Run by hand after a change of routes:
    python3 tests/fuzz/make_http_seeds.py tests/fuzz/corpus/fuzz_http
"""
import base64
import hashlib
import hmac
import json
import os
import sys

SECRET = b"fuzz-http-hs256-secret-0123456789abcdef"
NOW = 1_700_000_000


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def token(sub, role, extra=None, secret=SECRET, alg="HS256", iat=NOW, exp=NOW + 3600, kid=None):
    header = {"alg": alg, "typ": "JWT"}
    if kid:
        header["kid"] = kid
    claims = {"sub": sub, "role": role, "iss": "ledger", "aud": "ledger-api", "iat": iat, "exp": exp}
    claims.update(extra or {})
    signing = b64(json.dumps(header, separators=(",", ":")).encode()) + "." + \
        b64(json.dumps(claims, separators=(",", ":")).encode())
    sig = hmac.new(secret, signing.encode(), hashlib.sha256).digest()
    return signing + "." + b64(sig)


ADMIN = token("root", "admin")
ALICE = token("alice", "user")
BOB = token("bob", "user")
AUDITOR = token("audit", "auditor")
SERVICE = token("psp", "service", {"providers": ["stripe"], "accounts": [1, 3, 4, 5]})
BAD = {
    "expired": token("alice", "user", iat=NOW - 7200, exp=NOW - 3600),
    "wrong_key": token("alice", "user", secret=b"another-secret-of-enough-length-000000"),
    "alg_none": b64(b'{"alg":"none","typ":"JWT"}') + "." + ALICE.split(".")[1] + ".",
    "too_long_life": token("alice", "user", exp=NOW + 10 * 86400),
    "bad_role": token("alice", "superuser"),
    "kid": token("alice", "user", kid="k1"),
    "garbage": "abc.def.ghi",
}


def request(method, target, tok=None, body=None, headers=None, keep_alive=True):
    lines = [f"{method} {target} HTTP/1.1", "Host: 127.0.0.1"]
    if tok is not None:
        lines.append(f"Authorization: Bearer {tok}")
    for k, v in (headers or {}).items():
        lines.append(f"{k}: {v}")
    data = b""
    if body is not None:
        data = body.encode() if isinstance(body, str) else body
        lines.append("Content-Type: application/json")
        lines.append(f"Content-Length: {len(data)}")
    if not keep_alive:
        lines.append("Connection: close")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + data


def key(n):
    return {"Idempotency-Key": f"seed-{n}"}


def seeds():
    s = {}
    s["healthz"] = request("GET", "/healthz")
    s["get_wallet_alice"] = request("GET", "/v1/wallets/4", ALICE)
    s["get_wallet_other"] = request("GET", "/v1/wallets/5", ALICE)
    s["list_wallets"] = request("GET", "/v1/wallets?owner=alice&limit=10&cursor=3", ADMIN)
    s["list_assets"] = request("GET", "/v1/assets", AUDITOR)
    s["history"] = request("GET", "/v1/wallets/4/transactions?type=transfer&limit=5&min_seq=3", ALICE)
    s["history_bad"] = request("GET", "/v1/wallets/4/transactions?limit=abc&limit=2&%zz=1", ALICE)
    s["statement"] = request("GET", "/v1/wallets/4/statement?asset=USD&from=2026-01-01T00:00:00Z&to=2026-02-01T00:00:00Z", ALICE)
    s["balance_at"] = request("GET", "/v1/wallets/5/balance-at?asset=USD&at=2026-01-01T00:00:00Z", BOB)
    s["transaction"] = request("GET", "/v1/transactions/6", AUDITOR)
    s["by_reference"] = request("GET", "/v1/transactions?reference=order%2D7", ALICE)
    s["deposit"] = request("POST", "/v1/deposits", SERVICE,
                           '{"wallet_id":4,"asset":"USD","amount":"25.00","provider":"stripe","reference":"r1","metadata":{"k":[1,{"x":null}]}}', key(1))
    s["transfer"] = request("POST", "/v1/transfers", ALICE,
                            '{"from_wallet_id":4,"to_wallet_id":5,"asset":"USD","amount":"1.50","reference":"rent"}', key(2))
    s["transfer_fee_user"] = request("POST", "/v1/transfers", ALICE,
                                     '{"from_wallet_id":4,"to_wallet_id":5,"asset":"USD","amount":"1.50","fee":"0.10"}', key(3))
    s["withdraw"] = request("POST", "/v1/withdrawals", ALICE, '{"wallet_id":4,"asset":"USD","amount":"1.00"}', key(4))
    s["hold"] = request("POST", "/v1/holds", ALICE,
                        '{"wallet_id":4,"to_account_id":5,"asset":"USD","amount":"2.00","expires_in_s":60}', key(5))
    s["capture"] = request("POST", "/v1/holds/9/capture", SERVICE, '{"amount":"1.00"}', key(6))
    s["open_wallet"] = request("POST", "/v1/wallets", ADMIN,
                               '{"owner":"carol","assets":[{"asset":"USD","overdraft_limit":"10.00","daily_debit_limit":"100.00"}]}', key(7))
    s["register_asset"] = request("POST", "/v1/assets", ADMIN, '{"code":"EUR","scale":2}', key(8))
    s["freeze"] = request("POST", "/v1/wallets/5/freeze", ADMIN, "", key(9))
    s["reverse"] = request("POST", "/v1/transactions/7/reverse", ADMIN, '{"reason":"chargeback"}', key(10))
    s["batch"] = request("POST", "/v1/batch", ADMIN,
                         '{"commands":[{"type":"deposit","idempotency_key":"b1","wallet_id":4,"asset":"USD","amount":"3.00","provider":"stripe"},'
                         '{"type":"transfer","idempotency_key":"b2","from_wallet_id":4,"to_wallet_id":5,"asset":"USD","amount":"1.00"}]}', key(11))
    s["json_deep"] = request("POST", "/v1/deposits", SERVICE, '{"metadata":' + "[" * 80 + "]" * 80 + "}", key(12))
    s["json_bad"] = request("POST", "/v1/transfers", ALICE, '{"from_wallet_id":4,"amount":"1e5",}', key(13))
    s["json_unicode"] = request("POST", "/v1/deposits", SERVICE,
                                '{"wallet_id":4,"asset":"USD","amount":"0.01","provider":"stripe","metadata":{"n":"\\u0000\\ud83d\\ude00"}}', key(14))
    s["no_idempotency_key"] = request("POST", "/v1/transfers", ALICE, '{"from_wallet_id":4}')
    s["wrong_content_type"] = request("POST", "/v1/assets", ADMIN, None, {"Content-Type": "text/plain", "Content-Length": "2", **key(15)}) + b"{}"
    s["cors_preflight"] = request("OPTIONS", "/v1/transfers", None, None,
                                  {"Origin": "https://app.example", "Access-Control-Request-Method": "POST"})
    s["forwarded_for"] = request("GET", "/v1/wallets/4", ALICE, None, {"X-Forwarded-For": "203.0.113.9, 10.0.0.1", "X-Request-ID": "seed-req"})
    s["pipelined"] = request("GET", "/v1/wallets/4", ALICE) + request("GET", "/v1/assets", BOB) + request("GET", "/healthz", keep_alive=False)
    s["chunked"] = (b"POST /v1/assets HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + ADMIN.encode() +
                    b"\r\nContent-Type: application/json\r\nIdempotency-Key: c1\r\nTransfer-Encoding: chunked\r\n\r\n"
                    b"5\r\n{\"cod\r\n11\r\ne\":\"GBP\",\"scale\":2}\r\n0\r\n\r\n")
    s["bad_target"] = b"GET \x01bad HTTP/1.1\r\nHost: x\r\n\r\n"
    s["bad_version"] = b"GET / HTTP/9.9\r\n\r\n"
    s["partial"] = b"POST /v1/transfers HTTP/1.1\r\nContent-Length: 100\r\n\r\n{\"a\":"
    s["unknown_route"] = request("DELETE", "/v1/wallets/4", ADMIN)
    for name, tok in BAD.items():
        s["token_" + name] = request("GET", "/v1/wallets/4", tok)
    s["token_basic"] = request("GET", "/v1/wallets/4", None, None, {"Authorization": "Basic YWxpY2U6cHc="})
    return s


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else "tests/fuzz/corpus/fuzz_http"
    os.makedirs(out, exist_ok=True)
    for name, data in seeds().items():
        with open(os.path.join(out, name), "wb") as f:
            f.write(data)


if __name__ == "__main__":
    main()
