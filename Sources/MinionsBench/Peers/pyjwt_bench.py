"""The PyJWT peer for `make bench`: HS256 encode and decode per second with the same claims as Minions.

Prints one JSON line: {"issue": ops/s, "verify": ops/s}.
"""
import json
import sys
import time

import jwt

SECRET = "a benchmark secret of at least 32 bytes!"
now = int(time.time())
claims = {"sub": "alice", "uid": 7, "role": "user", "iat": now, "nbf": now, "exp": now + 3600,
          "iss": "minions", "jti": "0123456789abcdef0123456789abcdef", "ver": 1}


def rate(fn, seconds=1.5):
    n = 0
    start = time.perf_counter()
    while True:
        for _ in range(1000):
            fn()
        n += 1000
        elapsed = time.perf_counter() - start
        if elapsed >= seconds:
            return n / elapsed


token = jwt.encode(claims, SECRET, algorithm="HS256")
issue = rate(lambda: jwt.encode(claims, SECRET, algorithm="HS256"))
verify = rate(lambda: jwt.decode(token, SECRET, algorithms=["HS256"], issuer="minions"))
print(json.dumps({"issue": issue, "verify": verify}))
sys.stdout.flush()
