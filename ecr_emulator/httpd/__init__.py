"""The built-in HTTP/1.1 server: an asyncio event loop reads whole requests (bodies spooled to
a file past 1 MiB), request threads run the WSGI application, the loop writes the answers
(files with ``sendfile``). See :mod:`.connection` for the deadlines a connection lives by."""

from .body import SpooledBody
from .server import Config, Server
from .wsgi import FileWrapper

__all__ = ["Config", "FileWrapper", "Server", "SpooledBody"]
