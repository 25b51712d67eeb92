"""A tiny loopback TCP proxy that counts the client's request flights (round trips).

Redis' own counters also count the commands a Lua script runs inside the server, which are not
round trips. A client waits for each reply before it sends the next command (unless it pipelines,
which then travels as one flight), so the number of reads on the client side is the number of round
trips. It runs in its own threads, so blocking clients (slowapi's Redis client) work too.
"""

from __future__ import annotations

import contextlib
import socket
import threading


class CountingProxy:
    """Forward 127.0.0.1:<port> to `target`; `flights` counts client->server reads."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.flights = 0
        self._lock = threading.Lock()
        self._server = socket.socket()
        self._server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._server.bind(("127.0.0.1", 0))
        self._server.listen(64)
        self.port = int(self._server.getsockname()[1])
        self._closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def reset(self) -> None:
        with self._lock:
            self.flights = 0

    def close(self) -> None:
        self._closed = True
        self._server.close()

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self._server.accept()
            except OSError:
                return
            upstream = socket.create_connection(("127.0.0.1", self.target_port))
            for sock in (client, upstream):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            threading.Thread(target=self._pump, args=(client, upstream, True), daemon=True).start()
            threading.Thread(target=self._pump, args=(upstream, client, False), daemon=True).start()

    def _pump(self, src: socket.socket, dst: socket.socket, count: bool) -> None:
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                if count:
                    with self._lock:
                        self.flights += 1
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (src, dst):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
                sock.close()
