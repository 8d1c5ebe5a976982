"""A fast loopback gateway for the delivery benchmark.

Answers every request with 200 and records, per ``Idempotency-Key`` header, the wall-clock time
its first byte arrived. ``GET /stats`` returns the records as JSON. Prints its port, then serves
until stdin closes. Binds 127.0.0.1 only.
"""

import asyncio
import json
import sys
import time

first_byte: dict[str, float] = {}
RESPONSE = (
    b'HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 11\r\n\r\n{"ok":true}'
)


async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while True:
            line = await reader.readline()
            if not line:
                break
            arrived = time.time()
            headers = {}
            while True:
                header = await reader.readline()
                if header in (b"\r\n", b""):
                    break
                name, _, value = header.decode("latin-1").partition(":")
                headers[name.strip().lower()] = value.strip()
            length = int(headers.get("content-length", "0"))
            if length:
                await reader.readexactly(length)
            if line.startswith(b"GET /stats"):
                body = json.dumps(first_byte).encode()
                writer.write(
                    b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: "
                    + str(len(body)).encode()
                    + b"\r\n\r\n"
                    + body
                )
            else:
                key = headers.get("idempotency-key")
                if key and key not in first_byte:
                    first_byte[key] = arrived
                writer.write(RESPONSE)
            await writer.drain()
    except (ConnectionError, asyncio.IncompleteReadError):
        pass
    finally:
        writer.close()


async def main() -> None:
    server = await asyncio.start_server(serve, "127.0.0.1", 0, backlog=1024)
    print(server.sockets[0].getsockname()[1], flush=True)
    loop = asyncio.get_running_loop()
    await loop.run_in_executor(None, sys.stdin.read)  # serve until the bench closes stdin


if __name__ == "__main__":
    asyncio.run(main())
