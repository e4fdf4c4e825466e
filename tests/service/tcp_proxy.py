"""A TCP proxy the test controls, in front of a real database server.

``freeze()`` stops forwarding in both directions (connections stay open, bytes wait), as a
``SIGSTOP`` on the server or a network partition would; ``refuse()`` closes every new
connection at once, as a server that is down would; ``resume()`` restores both.

The proxy runs its own event loop in a thread: the test client runs the app on another
loop and blocks the test's loop while a request is in flight.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import threading
from collections.abc import Callable
from typing import Any


class _LoopProxy:
    def __init__(self, target_host: str, target_port: int) -> None:
        self.target_host = target_host
        self.target_port = target_port
        self.port = 0
        self._server: asyncio.Server | None = None
        self._flowing = asyncio.Event()
        self._flowing.set()
        self._refusing = False
        self._tasks: set[asyncio.Task[None]] = set()
        self._writers: set[asyncio.StreamWriter] = set()

    async def start(self) -> _LoopProxy:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    def freeze(self) -> None:
        self._flowing.clear()

    def refuse(self) -> None:
        self._refusing = True

    def resume(self) -> None:
        self._refusing = False
        self._flowing.set()

    async def drop_connections(self) -> None:
        """Cut every open connection (a server that went away)."""
        for writer in list(self._writers):
            writer.close()
        self._writers.clear()

    async def _accept(self, client_reader: asyncio.StreamReader, client: asyncio.StreamWriter):
        if self._refusing:
            client.close()
            return
        self._writers.add(client)
        await self._flowing.wait()  # frozen: the client's handshake gets no answer
        try:
            upstream_reader, upstream = await asyncio.open_connection(
                self.target_host, self.target_port
            )
        except OSError:
            client.close()
            return
        self._writers.add(upstream)
        for reader, writer in ((client_reader, upstream), (upstream_reader, client)):
            task = asyncio.create_task(self._pump(reader, writer))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _pump(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                await self._flowing.wait()
                writer.write(data)
                await writer.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            writer.close()

    async def close(self) -> None:
        self.resume()
        if self._server is not None:
            self._server.close()
        for task in list(self._tasks):
            task.cancel()
        for writer in list(self._writers):
            writer.close()
        with contextlib.suppress(Exception):
            await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._server is not None:
            with contextlib.suppress(Exception):
                await self._server.wait_closed()


class ControllableProxy:
    """Thread-safe handle on a :class:`_LoopProxy` running in a thread of its own."""

    def __init__(self, target_host: str, target_port: int) -> None:
        self._proxy = _LoopProxy(target_host, target_port)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)

    @property
    def port(self) -> int:
        return self._proxy.port

    def _call(self, function: Callable[[], Any]) -> Any:
        async def run() -> Any:
            result = function()
            if asyncio.iscoroutine(result):
                result = await result
            return result

        future: concurrent.futures.Future[Any] = asyncio.run_coroutine_threadsafe(run(), self._loop)
        return future.result(timeout=30)

    def start(self) -> ControllableProxy:
        self._thread.start()
        self._call(self._proxy.start)
        return self

    def freeze(self) -> None:
        self._call(self._proxy.freeze)

    def refuse(self) -> None:
        self._call(self._proxy.refuse)

    def resume(self) -> None:
        self._call(self._proxy.resume)

    def drop_connections(self) -> None:
        self._call(self._proxy.drop_connections)

    def close(self) -> None:
        self._call(self._proxy.close)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._loop.close()
