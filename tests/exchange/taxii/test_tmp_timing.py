import time
from tests.exchange.taxii.helpers import API, headers
from tests.exchange.test_policy_table import build_world

def test_timing(db, api_client, make_actor):
    world = build_world(db)
    a = world.viewers[10].actor
    c = api_client(a)
    c.get(API, headers=headers())
    for path in (API, API + "collections/", "/api/v1/exchange/items", "/api/v1/me"):
        t = time.perf_counter()
        for _ in range(5):
            r = c.get(path, headers=headers())
        print(path, r.status_code, (time.perf_counter() - t) / 5)
