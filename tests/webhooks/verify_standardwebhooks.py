#!/usr/bin/env python3
"""Verifies a Gatehouse webhook delivery with the Standard Webhooks reference
library (PyPI `standardwebhooks`), independent of Gatehouse's own code.

Reads a JSON document on stdin: {"secret", "headers": {...}, "body"}.
Exits 0 when the signature verifies, 1 when it does not, 2 when the library
is missing (install it with `pip install standardwebhooks`; .ci/run does).
"""
import json
import sys

try:
    from standardwebhooks.webhooks import Webhook, WebhookVerificationError
except ImportError:
    print("the standardwebhooks package is not installed: pip install standardwebhooks", file=sys.stderr)
    sys.exit(2)

doc = json.load(sys.stdin)
wh = Webhook(doc["secret"])
try:
    payload = wh.verify(doc["body"], doc["headers"])
except WebhookVerificationError as e:
    print(f"verification failed: {e}", file=sys.stderr)
    sys.exit(1)
# A tampered body must fail.
try:
    wh.verify(doc["body"] + " ", doc["headers"])
    print("a tampered body verified", file=sys.stderr)
    sys.exit(1)
except WebhookVerificationError:
    pass
print(json.dumps({"verified": True, "type": payload.get("type")}))
