"""A small HTTP/1.1 load generator: keep-alive connections on asyncio, latency per request.

Written for the benchmarks because the machine has two cores: a load generator that spends a
core parsing responses (as a threaded Python HTTP client does) measures itself, not the server.
This one reads only the status line and Content-Length.

    python bench/load.py --url http://127.0.0.1:8000/path --header "Authorization: Bearer …" \
        --connections 16 --seconds 10      # prints one JSON line
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from urllib.parse import urlsplit

__all__ = ["run_load"]


async def _connection(host: str, port: int, requests: list[bytes], offset: int, deadline: float,
                      latencies: list[float], statuses: dict[int, int]) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    turn = offset
    try:
        while time.perf_counter() < deadline:
            started = time.perf_counter()
            writer.write(requests[turn % len(requests)])
            turn += 1
            status_line = await reader.readline()
            length = 0
            while True:
                line = await reader.readline()
                if line in (b"\r\n", b""):
                    break
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value)
            await reader.readexactly(length)
            latencies.append(time.perf_counter() - started)
            status = int(status_line.split()[1])
            statuses[status] = statuses.get(status, 0) + 1
    finally:
        writer.close()


async def _run(urls: list[str], headers: list[str], connections: int,
               seconds: float) -> dict[str, object]:
    parts = urlsplit(urls[0])
    requests = []
    for url in urls:
        u = urlsplit(url)
        target = u.path + (f"?{u.query}" if u.query else "")
        head = [f"GET {target} HTTP/1.1", f"Host: {u.hostname}:{u.port}", *headers, "", ""]
        requests.append("\r\n".join(head).encode())
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    # Warm up (imports, caches, connection set-up) before the measured window.
    await _connection(parts.hostname or "127.0.0.1", parts.port or 80, requests, 0,
                      time.perf_counter() + 1.0, [], {})
    started = time.perf_counter()
    deadline = started + seconds
    await asyncio.gather(*[
        _connection(parts.hostname or "127.0.0.1", parts.port or 80, requests, i * 7919,
                    deadline, latencies, statuses) for i in range(connections)])
    elapsed = time.perf_counter() - started
    latencies.sort()

    def pct(p: float) -> float:
        return round(latencies[min(len(latencies) - 1, int(p * len(latencies)))] * 1000, 2)

    return {"requests": len(latencies), "seconds": round(elapsed, 2),
            "rps": round(len(latencies) / elapsed, 1), "p50_ms": pct(0.50), "p99_ms": pct(0.99),
            "statuses": statuses}


def run_load(urls: list[str], headers: list[str], connections: int = 16,
             seconds: float = 10.0) -> dict[str, object]:
    """Round-robin over ``urls`` (one host) from ``connections`` keep-alive connections."""
    return asyncio.run(_run(urls, headers, connections, seconds))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", action="append", default=[])
    parser.add_argument("--urls-file", help="one URL per line, requested in turn")
    parser.add_argument("--header", action="append", default=[])
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=10.0)
    args = parser.parse_args()
    urls = list(args.url)
    if args.urls_file:
        with open(args.urls_file) as handle:
            urls += [line.strip() for line in handle if line.strip()]
    if not urls:
        parser.error("give --url or --urls-file")
    print(json.dumps(run_load(urls, args.header, args.connections, args.seconds)))


if __name__ == "__main__":
    main()
