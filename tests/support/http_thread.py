"""A real aiohttp server on 127.0.0.1, run in a thread, for tests: it can go down (stop
listening, drop connections) and come back on the same port."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

from aiohttp import web

T = TypeVar("T")


class ThreadedServer:
    name = "test-server"

    def __init__(self) -> None:
        self.port = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runner: web.AppRunner | None = None

    def routes(self, app: web.Application) -> None:
        raise NotImplementedError

    def application(self) -> web.Application:
        return web.Application()

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> str:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name=self.name,
                                        daemon=True)
        self._thread.start()
        self._run(self._listen())
        return self.base_url  # type: ignore[attr-defined,no-any-return]

    def stop(self) -> None:
        if self._loop is None or self._thread is None:
            return
        self._run(self._close())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._loop.close()
        self._loop = self._thread = None

    def set_down(self, down: bool) -> None:
        """Down: stop listening and drop every connection. Up: listen on the same port again."""
        self._run(self._close() if down else self._listen())

    @property
    def is_down(self) -> bool:
        return self._runner is None

    def _run(self, coro: Coroutine[Any, Any, T]) -> T:
        assert self._loop is not None, "start() the server first"
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout=30)

    async def _listen(self) -> None:
        if self._runner is not None:
            return
        app = self.application()
        self.routes(app)
        runner = web.AppRunner(app, handler_cancellation=True, access_log=None,
                               shutdown_timeout=0.2)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", self.port, reuse_address=True)
        await site.start()
        self.port = runner.addresses[0][1]
        self._runner = runner

    async def _close(self) -> None:
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()
