"""An aiohttp application served from a thread of its own, for the simulators.

Tests and the demo own the main thread (and often an event loop of their own), so a
simulated Symphony or Koha server runs its own loop in a daemon thread on 127.0.0.1.
`stop()` closes the listening socket and every open connection, so the port refuses
connections afterwards — what tests of a dead member system need.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from typing import Any

from aiohttp import web


class BackgroundServer:
    def __init__(self, name: str) -> None:
        self.name = name
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runner: web.AppRunner | None = None

    def start(self, make_app: Callable[[], web.Application], port: int = 0,
              **runner_options: Any) -> int:
        """Serve `make_app()` (built in the server's loop) on `port`; returns the port.
        Errors while starting (port taken …) are raised here, in the caller's thread."""
        loop = asyncio.new_event_loop()
        ready = threading.Event()
        errors: list[BaseException] = []

        async def serve() -> None:
            runner = web.AppRunner(make_app(), access_log=None, **runner_options)
            await runner.setup()
            await web.TCPSite(runner, "127.0.0.1", port).start()
            self._runner = runner

        def run() -> None:
            asyncio.set_event_loop(loop)
            try:
                loop.run_until_complete(serve())
            except BaseException as e:  # noqa: BLE001 - handed to the starting thread
                errors.append(e)
                ready.set()
                loop.close()
                return
            ready.set()
            loop.run_forever()
            loop.close()

        self._loop = loop
        self._thread = threading.Thread(target=run, name=self.name, daemon=True)
        self._thread.start()
        ready.wait(10)
        if errors:
            self._loop = self._thread = None
            raise errors[0]
        assert self._runner is not None
        return int(self._runner.addresses[0][1])

    def stop(self) -> None:
        """Close the listening socket and every connection; a no-op when not running."""
        loop, thread, runner = self._loop, self._thread, self._runner
        self._loop = self._thread = self._runner = None
        if loop is None or thread is None:
            return
        if runner is not None:
            asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
