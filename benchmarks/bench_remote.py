"""Reading 1,000 chunks from S3 with 5 ms of latency per request: zarrconv vs zarr-python.

Everything runs on 127.0.0.1: a ``moto_server`` S3 endpoint, and in front of it a small
HTTP proxy (this file run with ``--proxy``) that waits ``--latency`` seconds before
forwarding each request, so that the cost of sequential round trips shows as it does
against real object storage. Both libraries read the same array through the proxy with
s3fs; the figures printed are the best of ``--repeat`` runs.

    python benchmarks/bench_remote.py [--chunks 1000] [--latency 0.005] [--repeat 3]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys

from _remote_common import best, free_port, s3_options, start, start_moto, stop

HOP_BY_HOP = {"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailer",
              "trailers", "transfer-encoding", "upgrade", "host", "content-length"}
MAX_CONCURRENT_REQUESTS = 256


# -- the latency proxy ---------------------------------------------------------------------------

async def _serve_proxy(port: int, target: str, latency: float) -> None:
    import aiohttp
    from aiohttp import web
    from yarl import URL

    limit = asyncio.Semaphore(MAX_CONCURRENT_REQUESTS)
    session = aiohttp.ClientSession(auto_decompress=False,
                                    connector=aiohttp.TCPConnector(limit=MAX_CONCURRENT_REQUESTS))

    async def handle(request: web.Request) -> web.StreamResponse:
        async with limit:
            body = await request.read()
            await asyncio.sleep(latency)
            headers = {k: v for k, v in request.headers.items() if k.lower() not in HOP_BY_HOP}
            async with session.request(request.method, URL(target + request.raw_path, encoded=True),
                                       headers=headers, data=body or None, allow_redirects=False,
                                       skip_auto_headers=("Content-Type", "Accept-Encoding", "User-Agent")) as up:
                payload = await up.read()
                out = {k: v for k, v in up.headers.items() if k.lower() not in HOP_BY_HOP}
                if request.method == "HEAD":  # no body, but the size of the object it describes
                    out["Content-Length"] = up.headers.get("Content-Length", "0")
                    return web.Response(status=up.status, headers=out)
                return web.Response(status=up.status, body=payload, headers=out)

    app = web.Application(client_max_size=1 << 30)
    app.router.add_route("*", "/{tail:.*}", handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    await asyncio.Event().wait()


# -- the benchmark -------------------------------------------------------------------------------

def run(chunks: int = 1000, latency: float = 0.005, repeat: int = 3) -> dict[str, float]:
    """Write ``chunks`` chunks to a loopback S3 server, read them back through a proxy adding
    ``latency`` per request with zarrconv and zarr-python; return the seconds of each."""
    import numpy as np
    import s3fs
    import zarr

    import zarrconv as zc

    moto_port, proxy_port = free_port(), free_port()
    direct, proxied = f"http://127.0.0.1:{moto_port}", f"http://127.0.0.1:{proxy_port}"
    procs = [start_moto(moto_port)]
    try:
        procs.append(start([sys.executable, __file__, "--proxy", str(proxy_port), "--target", direct,
                             "--latency", str(latency)], proxied + "/"))
        s3fs.S3FileSystem(**s3_options(direct)).mkdir("bench")
        shape = (100, 10 * chunks)
        data = np.random.default_rng(0).random(shape, dtype="f4")
        url = "s3://bench/data.zarr"
        zc.create_array(url, shape=shape, chunks=(100, 10), dtype="f4",
                        storage_options=s3_options(direct))[:] = data  # written directly, without latency

        def read_zarrconv() -> None:
            a = zc.open_array(url, storage_options=s3_options(proxied))
            assert np.array_equal(a[:], data)

        def read_zarr_python(concurrency: int | None = None) -> None:
            with zarr.config.set({"async.concurrency": concurrency} if concurrency else {}):
                z = zarr.open_array(url, mode="r", storage_options=s3_options(proxied))
                assert np.array_equal(z[:], data)

        read_zarrconv()  # warm up both (imports, connection pools)
        read_zarr_python()
        ours = best(read_zarrconv, repeat)
        theirs = best(read_zarr_python, repeat)
        theirs_64 = best(lambda: read_zarr_python(int(zc.config.get("remote_concurrency"))), repeat)
    finally:
        stop(procs)
    return {"zarrconv": ours, "zarr-python": theirs, "zarr-python-same-concurrency": theirs_64}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chunks", type=int, default=1000)
    parser.add_argument("--latency", type=float, default=0.005, help="seconds added to every request")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--proxy", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--target", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.proxy:
        if not args.target.startswith("http://127.0.0.1:"):
            raise SystemExit("the latency proxy only forwards to 127.0.0.1")
        asyncio.run(_serve_proxy(args.proxy, args.target, args.latency))
        return
    res = run(args.chunks, args.latency, args.repeat)
    print(f"{args.chunks} chunks, S3 (moto on 127.0.0.1) + {args.latency * 1000:g} ms per request, "
          f"best of {args.repeat} (cpus: {os.cpu_count()})")
    for name, seconds in res.items():
        print(f"  {name:30s} {seconds:8.3f} s")
    print(f"  zarr-python / zarrconv         {res['zarr-python'] / res['zarrconv']:8.2f}x")
    print(f"  zarr-python(same conc.) / zc   {res['zarr-python-same-concurrency'] / res['zarrconv']:8.2f}x")


if __name__ == "__main__":
    main()
