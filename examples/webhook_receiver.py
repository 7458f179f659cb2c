#!/usr/bin/env python3
"""An example Gatehouse webhook receiver.

It verifies each delivery with the Standard Webhooks reference library
(`pip install standardwebhooks`): a bad signature or a timestamp more than
five minutes off is refused with 401. Deliveries are at least once, so a
repeated `webhook-id` is acknowledged and ignored. It answers 204 quickly and
prints one line per event; a real receiver would queue the event first and
answer only once it is safely stored.

    python3 examples/webhook_receiver.py --port 9000 --secret whsec_...
"""
import argparse
import json
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from standardwebhooks.webhooks import Webhook, WebhookVerificationError


def handler_for(webhook, seen):
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("content-length", 0))).decode()
            try:
                event = webhook.verify(body, dict(self.headers.items()))
            except WebhookVerificationError as e:
                self.send_response(401)
                self.end_headers()
                print(f"refused: {e}", flush=True)
                return
            event_id = self.headers["webhook-id"]
            if event_id not in seen:
                seen.add(event_id)
                data = event.get("data", {})
                print(json.dumps({"type": event["type"], "subject": event["subject"],
                                  "sequence": event.get("sequence"), "href": data.get("href")}), flush=True)
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args):
            pass

    return Handler


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--port", type=int, default=9000)
    p.add_argument("--secret", required=True, help="the subscription's whsec_... secret")
    args = p.parse_args()
    server = ThreadingHTTPServer(("127.0.0.1", args.port), handler_for(Webhook(args.secret), set()))
    print(f"listening on http://127.0.0.1:{args.port}/hook", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
