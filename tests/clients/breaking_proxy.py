"""A loopback TCP proxy that breaks connections on purpose, to test client reconnects.

Every connection is forwarded to the upstream server byte for byte. The first `breaks`
connections are cut (both sockets shut down and closed) once `break_after_bytes` of server
replies went through them; later ones are left alone. Loopback only, and it stops with
stop() (threads are daemons with short timeouts).
"""

from __future__ import annotations

import socket
import threading


class BreakingProxy:
    def __init__(self, upstream_host: str, upstream_port: int, break_after_bytes: int, breaks: int = 1) -> None:
        self.upstream = (upstream_host, upstream_port)
        self.break_after_bytes = break_after_bytes
        self.breaks_left = breaks
        self.connections = 0
        self.broken = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._sockets: list[socket.socket] = []
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.2)
        self.target = f"127.0.0.1:{self._listener.getsockname()[1]}"
        threading.Thread(target=self._accept_loop, daemon=True).start()

    def _accept_loop(self) -> None:
        while not self._stop.is_set():
            try:
                client, _ = self._listener.accept()
            except (TimeoutError, OSError):
                continue
            upstream = socket.create_connection(self.upstream, timeout=10)
            upstream.settimeout(None)
            with self._lock:
                self.connections += 1
                doomed = self.breaks_left > 0
                self.breaks_left -= int(doomed)
                self._sockets += [client, upstream]
            pair = _Pair(self, client, upstream, self.break_after_bytes if doomed else None)
            threading.Thread(target=pair.pump, args=(client, upstream, False), daemon=True).start()
            threading.Thread(target=pair.pump, args=(upstream, client, True), daemon=True).start()

    def stop(self) -> None:
        self._stop.set()
        self._listener.close()
        with self._lock:
            for s in self._sockets:
                _close(s)


class _Pair:
    def __init__(
        self, proxy: BreakingProxy, client: socket.socket, upstream: socket.socket, break_after: int | None
    ) -> None:
        self.proxy, self.client, self.upstream, self.break_after = proxy, client, upstream, break_after
        self.replied = 0

    def pump(self, src: socket.socket, dst: socket.socket, is_reply: bool) -> None:
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                dst.sendall(data)
                if is_reply and self.break_after is not None:
                    self.replied += len(data)
                    if self.replied >= self.break_after:
                        with self.proxy._lock:
                            self.proxy.broken += 1
                        break
        except OSError:
            pass
        _close(self.client)
        _close(self.upstream)


def _close(s: socket.socket) -> None:
    try:
        s.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    s.close()
