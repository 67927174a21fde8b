"""The cachetools peer for `make bench`: TTLCache gets and sets per second on the key patterns Minions uses.

Gets: a full cache (maxsize entries, all present) read in a shuffled order. Sets: keys cycling over twice
maxsize, so every set inserts a new key and evicts the least recently used one. Once with int keys, once
with 64-character hexadecimal string keys (the shape of the response cache's SHA-256 keys).

Usage: cachetools_bench.py [MAXSIZE]. Prints one JSON line:
{"intGets": ops/s, "intSets": ops/s, "stringGets": ops/s, "stringSets": ops/s}.
"""
import json
import random
import sys
import time

from cachetools import TTLCache

MAXSIZE = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000
TTL = 3600
BATCH = 4096


def rate(run_batch, seconds=1.5):
    n = 0
    start = time.perf_counter()
    while True:
        run_batch(n)
        n += BATCH
        elapsed = time.perf_counter() - start
        if elapsed >= seconds:
            return n / elapsed


def gets(keys):
    cache = TTLCache(maxsize=MAXSIZE, ttl=TTL)
    for i, key in enumerate(keys):
        cache[key] = i
    count = len(keys)

    def run_batch(start):
        i = start % count
        for _ in range(BATCH):
            cache[keys[i]]  # all keys are present; indexing is the fastest TTLCache read
            i += 1
            if i == count:
                i = 0

    return rate(run_batch)


def sets(keys):
    cache = TTLCache(maxsize=MAXSIZE, ttl=TTL)
    count = len(keys)

    def run_batch(start):
        i = start % count
        for n in range(BATCH):
            cache[keys[i]] = n
            i += 1
            if i == count:
                i = 0

    return rate(run_batch)


rng = random.Random(6)
get_order = list(range(MAXSIZE))
rng.shuffle(get_order)
set_order = list(range(2 * MAXSIZE))
string_keys = ["%064x" % rng.getrandbits(256) for _ in range(2 * MAXSIZE)]
result = {
    "intGets": gets(get_order),
    "intSets": sets(set_order),
    "stringGets": gets([string_keys[k] for k in get_order]),
    "stringSets": sets(string_keys),
}
print(json.dumps(result))
sys.stdout.flush()
