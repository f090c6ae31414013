"""A loopback HTTP server of named files for download tests: range requests (or not), ETag and
Last-Modified, connections cut or held at chosen byte offsets, and a log of every request."""

import dataclasses
import email.utils
import hashlib
import http.server
import re
import threading

_RANGE = re.compile(r"bytes=(\d+)-")
_CHUNK = 1 << 16


@dataclasses.dataclass
class Served:
    """One request: the file, the first byte its Range asked for, its If-Range, and the answer's
    status and body bytes sent (counted as they go)."""

    name: str
    range_start: int | None
    if_range: str | None
    status: int = 0
    sent: int = 0


class FileServer:
    """Serves `files` on 127.0.0.1 from a thread; with `ranges=False` it ignores Range headers.

    `cuts[name]`: body offsets at which the connection is closed, each once; `holds[name]`: an
    offset at which the body stops until `released` is set (`held` is set then), once.
    """

    def __init__(self, files: dict[str, bytes], ranges: bool = True):
        self.files, self.ranges = dict(files), ranges
        self.requests: list[Served] = []
        self.cuts: dict[str, list[int]] = {}
        self.holds: dict[str, int] = {}
        self.held, self.released = threading.Event(), threading.Event()
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def names(self) -> list[str]:
        """The files requested, in order."""
        return [request.name for request in self.requests]

    def of(self, name: str) -> list[Served]:
        """The requests of one file, in order."""
        return [request for request in self.requests if request.name == name]

    def etag(self, name: str) -> str:
        """A strong ETag of the file as it is now."""
        return f'"{hashlib.sha256(self.files[name]).hexdigest()[:16]}"'

    def last_modified(self, name: str) -> str:
        """A Last-Modified date that changes with the file's content."""
        seconds = 1_700_000_000 + int(hashlib.sha256(self.files[name]).hexdigest()[:6], 16)
        return email.utils.formatdate(seconds, usegmt=True)

    def close(self) -> None:
        self.released.set()
        self.httpd.shutdown()
        self.httpd.server_close()


def _handler(server: FileServer) -> type[http.server.BaseHTTPRequestHandler]:
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            name = self.path.lstrip("/")
            asked = _RANGE.fullmatch(self.headers.get("Range", ""))
            served = Served(name, int(asked[1]) if asked else None, self.headers.get("If-Range"))
            server.requests.append(served)
            if name not in server.files:
                served.status = 404
                self.send_error(404)
                return
            data = server.files[name]
            etag, modified = server.etag(name), server.last_modified(name)
            partial = bool(asked) and server.ranges and served.if_range in (None, etag, modified)
            start = int(asked[1]) if partial else 0
            if start >= len(data) > 0:
                served.status = 416
                self.send_response(416)
                self.send_header("Content-Range", f"bytes */{len(data)}")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            served.status = 206 if partial else 200
            self.send_response(served.status)
            self.send_header("Content-Length", str(len(data) - start))
            self.send_header("ETag", etag)
            self.send_header("Last-Modified", modified)
            if server.ranges:
                self.send_header("Accept-Ranges", "bytes")
            if served.status == 206:
                self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
            self.end_headers()
            cuts = [cut for cut in server.cuts.get(name, []) if start < cut < len(data)]
            hold = server.holds.get(name)
            stop = min([*cuts, *([hold] if hold and start < hold < len(data) else []), len(data)])
            for offset in range(start, stop, _CHUNK):
                chunk = data[offset : min(offset + _CHUNK, stop)]
                self.wfile.write(chunk)
                served.sent += len(chunk)
            self.wfile.flush()
            if stop == hold:
                del server.holds[name]
                server.held.set()
                server.released.wait(timeout=120)
            elif stop in cuts:
                server.cuts[name].remove(stop)
            self.close_connection = True  # short of Content-Length, when stopped early

        def log_message(self, *args):
            pass

    return Handler
