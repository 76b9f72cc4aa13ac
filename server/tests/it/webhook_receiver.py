"""A webhook receiver for the tests: a separate process, as a customer's
system would be. Listens on 127.0.0.1 (argv[1]: the port, 0 for any; its
port is printed as the first line), answers 503 to the first argv[2]
requests and 200 to the others, and appends every request it got to the
JSON-lines file argv[3]: its headers, body and the status it answered."""

import json
import sys
from http.server import BaseHTTPRequestHandler, HTTPServer

port, failures, log = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
seen = 0


class Receiver(BaseHTTPRequestHandler):
    def do_POST(self):
        global seen
        seen += 1
        status = 503 if seen <= failures else 200
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        with open(log, "a", encoding="utf-8") as out:
            out.write(json.dumps({
                "status": status,
                "headers": {k.lower(): v for k, v in self.headers.items()},
                "body": body.decode("utf-8"),
            }) + "\n")
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


server = HTTPServer(("127.0.0.1", port), Receiver)
print(server.server_address[1], flush=True)
server.serve_forever()
