"""pylxd 2.2.10 against herald: authenticate (when a password is given), then receive events.

Usage: pylxd_events.py ENDPOINT COUNT TIMEOUT [--cert CRT --key KEY] [--password PW] [--types a,b] [--cert-ws]
                       [--until-source SOURCE]

ENDPOINT is https://host:port or a unix socket path. Prints `TRUSTED <bool>` and `READY` (to stdout, flushed) once the
events websocket is open, then one JSON line per event received (keys in the server's order), then `DONE`: after COUNT events, TIMEOUT seconds, or a lifecycle event whose source is SOURCE. With
--cert-ws the events websocket presents the client certificate too (pylxd's own client does not: see docs/lxd.md).
"""

import argparse
import json
import sys
import threading
import time
from urllib.parse import quote

import pylxd
from pylxd.client import EventType, _WebsocketClient

p = argparse.ArgumentParser()
p.add_argument("endpoint")
p.add_argument("count", type=int)
p.add_argument("timeout", type=float)
p.add_argument("--cert")
p.add_argument("--key")
p.add_argument("--password")
p.add_argument("--types", default="")
p.add_argument("--cert-ws", action="store_true")
p.add_argument("--until-source")
a = p.parse_args()

if a.endpoint.startswith("https://"):
    client = pylxd.Client(endpoint=a.endpoint, cert=(a.cert, a.key), verify=False)
else:
    # pylxd only treats a path as a unix socket when os.path.isfile() holds, which is false for sockets: give the
    # socket as an http+unix URL (pylxd.Client() with LXD_DIR set works too).
    client = pylxd.Client(endpoint="http+unix://" + quote(a.endpoint, safe=""))
if a.password is not None:
    client.authenticate(a.password)
print("TRUSTED", client.trusted, flush=True)

ws_class = _WebsocketClient
if a.cert_ws:

    class CertWS(_WebsocketClient):
        # pylxd's default events client sends no certificate; ws4py takes it through ssl_options.
        def __init__(self, url, **kw):
            super().__init__(url, ssl_options={"certfile": a.cert, "keyfile": a.key}, **kw)

    ws_class = CertWS

types = {EventType(t) for t in a.types.split(",") if t} or None
ws = client.events(websocket_client=ws_class, event_types=types)
print("RESOURCE", ws.resource, flush=True)
try:
    ws.connect()
except Exception as e:  # noqa: BLE001 - the test reads the reason
    print("ERROR", type(e).__name__, str(e), flush=True)
    sys.exit(2)
runner = threading.Thread(target=ws.run, daemon=True)
runner.start()
print("READY", flush=True)
deadline = time.time() + a.timeout


def ended():
    return a.until_source is not None and any(
        m.get("type") == "lifecycle" and m.get("metadata", {}).get("source") == a.until_source for m in ws.messages
    )


while time.time() < deadline and len(ws.messages) < a.count and runner.is_alive() and not ended():
    time.sleep(0.02)
for m in list(ws.messages):
    print(json.dumps(m), flush=True)
ws.close()
print("DONE", flush=True)
