#!/usr/bin/env python
"""Remote stores with injected latency: zarrconv on obstore vs zarrconv on fsspec vs zarr-python + ObjectStore.

One command prints the whole table; every implementation in the same run, repeats interleaved, best of
``--repeat``, ratios against zarrconv + obstore, the load average during each case:

* **1,000 small chunks read**: open an array of 1,000 zstd chunks (4 KB each) and read it whole;
* **500-variable dataset opened**: ``xr.open_dataset`` of 500 small variables with consolidated
  metadata (``chunks=None``; the coordinates are read, the variables stay lazy);
* **array written**: create a float32 array (``--write-mib``, default 1024 MiB, chunks of 4 MiB,
  no compression) and write it whole;
* **write concurrency**: the same write by zarrconv + obstore at each ``remote_concurrency`` of
  ``--write-concurrency``;
* **the relay's own cost** (proxy mode): the small-chunk read and a ``--relay-write-mib`` write, straight
  to the servers and through a relay that adds 0 ms.

Reads are served by nginx (static files, Range requests) so that the server is not the bottleneck;
writes go to a moto S3 server (S3 semantics: PUT, multipart, listing). All of it runs on 127.0.0.1.
Latency is added to every packet without serializing requests:

* ``netem`` (preferred): the benchmark creates a network namespace (``ip netns add``), sets
  ``tc qdisc ... netem delay latency/2`` on its loopback (both directions: one round trip costs
  ``--latency``) and runs itself, the servers and the clients inside it;
* ``proxy`` (when the kernel has no ``sch_netem``, or not root): a TCP relay in its own process in front
  of each server, which holds every piece of data ``latency/2`` in each direction (a connection's
  pieces stay in order, connections do not wait for each other; new connections pay one round trip).

Every read result is compared with the source; a sample of every written array is read back. ::

    sudo python benchmarks/bench_obstore.py [--latency 0.005] [--repeat 3] [--write-mib 1024]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import subprocess
import sys
import tempfile
import warnings
from collections.abc import Callable
from pathlib import Path

from _remote_common import best_interleaved, free_port, s3_options, start, start_moto, stop

HERE = Path(__file__).resolve().parent
IMPLEMENTATIONS = ("zarrconv+obstore", "zarrconv+fsspec", "zarr-python+ObjectStore")
#: the cases of the whole table (``--cases`` picks some)
DEFAULT_CASES = ("small", "many", "write", "concurrency", "relay")


# -- latency ------------------------------------------------------------------------------------------

async def _relay(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, delay: float) -> None:
    """Forward ``reader`` to ``writer``, each piece ``delay`` seconds after it arrived, in order."""
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue = asyncio.Queue()

    async def take() -> None:
        while True:
            data = await reader.read(1 << 18)
            queue.put_nowait((loop.time() + delay, data))
            if not data:
                return

    async def give() -> None:
        while True:
            due, data = await queue.get()
            if due > loop.time():
                await asyncio.sleep(due - loop.time())
            if not data:
                if writer.can_write_eof():
                    writer.write_eof()
                return
            writer.write(data)
            await writer.drain()

    try:
        await asyncio.gather(take(), give())
    except (ConnectionError, OSError):
        pass
    finally:
        writer.close()


async def _serve_latency_proxy(port: int, target_port: int, latency: float) -> None:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await asyncio.sleep(latency)  # the handshake's round trip
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", target_port)
        except OSError:
            writer.close()
            return
        await asyncio.gather(_relay(reader, up_writer, latency / 2), _relay(up_reader, writer, latency / 2))

    server = await asyncio.start_server(handle, "127.0.0.1", port, backlog=4096)
    async with server:
        await server.serve_forever()


def _netem_available() -> bool:
    if os.geteuid() != 0 or shutil.which("ip") is None or shutil.which("tc") is None:
        return False
    name = f"zcprobe{os.getpid()}"
    if subprocess.run(["ip", "netns", "add", name], capture_output=True).returncode != 0:
        return False
    try:
        probe = subprocess.run(["ip", "netns", "exec", name, "tc", "qdisc", "add", "dev", "lo", "root", "netem",
                                "delay", "1ms"], capture_output=True)
        return probe.returncode == 0
    finally:
        subprocess.run(["ip", "netns", "del", name], capture_output=True)


def _run_in_netns(argv: list[str], latency: float) -> int:
    """Create a namespace whose loopback delays every packet latency/2, run this script inside it."""
    name = f"zcbench{os.getpid()}"
    subprocess.run(["ip", "netns", "add", name], check=True)
    try:
        ns = ["ip", "netns", "exec", name]
        subprocess.run([*ns, "ip", "link", "set", "lo", "up"], check=True)
        subprocess.run([*ns, "tc", "qdisc", "add", "dev", "lo", "root", "netem", "delay",
                        f"{latency / 2 * 1000:g}ms", "limit", "1000000"], check=True)
        return subprocess.run([*ns, sys.executable, __file__, *argv, "--inside-netns"]).returncode
    finally:
        subprocess.run(["ip", "netns", "del", name], check=False)


# -- servers -----------------------------------------------------------------------------------------

def _ensure_nginx() -> None:
    """nginx serves the read cases; as root on Debian/Ubuntu it is installed when missing."""
    if shutil.which("nginx"):
        return
    if os.geteuid() == 0 and shutil.which("apt-get"):
        print("nginx is missing: apt-get install -y nginx-light", file=sys.stderr)
        subprocess.run(["apt-get", "install", "-y", "-q", "nginx-light"], check=False, stdout=subprocess.DEVNULL)
    if not shutil.which("nginx"):
        raise SystemExit("bench_obstore.py needs nginx for the read cases (apt-get install nginx-light)")


def _nginx(root: Path, work: Path, port: int) -> subprocess.Popen:
    _ensure_nginx()
    conf = work / "nginx.conf"
    conf.write_text(f"""
worker_processes 2;
daemon off;
user root;
pid {work}/nginx.pid;
error_log {work}/nginx-error.log warn;
events {{ worker_connections 8192; }}
http {{
    access_log off;
    sendfile on; tcp_nopush on; tcp_nodelay on;
    keepalive_requests 1000000; keepalive_timeout 300s;
    default_type application/octet-stream;
    client_body_temp_path {work}/body; proxy_temp_path {work}/proxy; fastcgi_temp_path {work}/fcgi;
    uwsgi_temp_path {work}/uwsgi; scgi_temp_path {work}/scgi;
    server {{ listen 127.0.0.1:{port}; root {root}; location / {{ autoindex on; }} }}
}}
""")
    return start(["nginx", "-c", str(conf), "-p", str(work)], f"http://127.0.0.1:{port}/")


# -- the cases -----------------------------------------------------------------------------------------

def _http_object_store(url: str):
    import obstore.store
    import zarr

    return zarr.storage.ObjectStore(obstore.store.HTTPStore.from_url(url, client_options={"allow_http": True}),
                                    read_only=True)


def _small_array(data_dir: Path, chunks: int):
    """The array of ``chunks`` small chunks the read cases use, written once into the served directory."""
    import numpy as np

    import zarrconv as zc

    shape = (100, 10 * chunks)
    data = np.random.default_rng(0).random(shape, dtype="f4")
    if not (data_dir / "small.zarr").exists():
        zc.create_array(str(data_dir / "small.zarr"), shape=shape, chunks=(100, 10), dtype="f4")[:] = data
    return data


def case_small_chunks(http: str, data_dir: Path, chunks: int, repeat: int) -> dict[str, float]:
    import numpy as np
    import zarr

    import zarrconv as zc

    data = _small_array(data_dir, chunks)
    url = f"{http}/small.zarr"

    def ours(choice: str) -> Callable[[], None]:
        def read() -> None:
            with zc.config.set(remote_store=choice):
                assert np.array_equal(zc.open_array(url)[:], data)
        return read

    def theirs() -> None:
        assert np.array_equal(zarr.open_array(_http_object_store(url), mode="r")[:], data)

    return best_interleaved({"zarrconv+obstore": ours("obstore"), "zarrconv+fsspec": ours("fsspec"),
                              "zarr-python+ObjectStore": theirs}, repeat)


def case_many_variables(http: str, data_dir: Path, n_vars: int, repeat: int) -> dict[str, float]:
    import xarray as xr

    import zarrconv as zc

    sys.path.insert(0, str(HERE))
    from bench_xarray_open import make_store

    make_store(data_dir / "many.zarr", n_vars, 3)
    url = f"{http}/many.zarr"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = xr.open_dataset(data_dir / "many.zarr", engine="zarr", chunks=None).load()

    def ours(choice: str) -> Callable[[], None]:
        def open_() -> None:
            with zc.config.set(remote_store=choice):
                ds = xr.open_dataset(url, engine="zarrconv", chunks=None, consolidated=True)
            assert list(ds.data_vars) == list(expected.data_vars) and ds["time"].equals(expected["time"])
        return open_

    def theirs() -> None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ds = xr.open_dataset(_http_object_store(url), engine="zarr", chunks=None, consolidated=True)
        assert list(ds.data_vars) == list(expected.data_vars) and ds["time"].equals(expected["time"])

    result = best_interleaved({"zarrconv+obstore": ours("obstore"), "zarrconv+fsspec": ours("fsspec"),
                                "zarr-python+ObjectStore": theirs}, repeat)
    with zc.config.set(remote_store="obstore"):
        xr.testing.assert_identical(xr.open_dataset(url, engine="zarrconv", chunks=None).load(), expected)
    return result


def _write_data(s3_direct: str, mib: int):
    """``mib`` MiB of float32 in planes of 4 MiB (one chunk each), and the bucket they are written to."""
    import numpy as np
    import s3fs

    fs = s3fs.S3FileSystem(**s3_options(s3_direct))
    if not fs.exists("bench"):
        fs.mkdir("bench")
    return np.random.default_rng(1).random((max(1, mib // 4), 1024, 1024), dtype="f4")


def _write_ours(s3: str, name: str, data, choice: str = "obstore", concurrency: int | None = None) -> None:
    import zarrconv as zc

    settings = {"remote_store": choice} | ({"remote_concurrency": concurrency} if concurrency else {})
    with zc.config.set(**settings):
        zc.create_array(f"s3://bench/{name}.zarr", shape=data.shape, chunks=(1, 1024, 1024), dtype="f4",
                        compressors=None, overwrite=True, storage_options=s3_options(s3))[:] = data


def _read_back(s3_direct: str, names: list[str], data) -> None:
    """A sample of planes of every written array, compared with the source."""
    import numpy as np

    import zarrconv as zc

    sample = sorted({0, len(data) // 2, len(data) - 1})
    for name in names:
        back = zc.open_array(f"s3://bench/{name}.zarr", storage_options=s3_options(s3_direct))
        assert np.array_equal(back.oindex[sample], data[sample]), name


def case_write(s3: str, s3_direct: str, mib: int, repeat: int) -> dict[str, float]:
    import obstore.store
    import zarr

    data = _write_data(s3_direct, mib)
    shape = data.shape

    def ours(choice: str) -> Callable[[], None]:
        return lambda: _write_ours(s3, choice, data, choice)

    def theirs() -> None:
        store = obstore.store.S3Store("bench", prefix="zarr-python.zarr", endpoint=s3, access_key_id="testing",
                                      secret_access_key="testing", region="us-west-2",
                                      client_options={"allow_http": True})
        zarr.create_array(zarr.storage.ObjectStore(store), shape=shape, chunks=(1, 1024, 1024), dtype="f4",
                          compressors=None, overwrite=True)[:] = data

    result = best_interleaved({"zarrconv+obstore": ours("obstore"), "zarrconv+fsspec": ours("fsspec"),
                                "zarr-python+ObjectStore": theirs}, repeat)
    _read_back(s3_direct, ["obstore", "fsspec", "zarr-python"], data)
    return result


def case_write_concurrency(s3: str, s3_direct: str, mib: int, repeat: int, levels: list[int]) -> dict[str, float]:
    """zarrconv + obstore writing the same array with each ``remote_concurrency`` in ``levels``."""
    data = _write_data(s3_direct, mib)
    # one array name for every level: moto keeps objects in memory, an overwrite frees the previous ones
    fns = {f"remote_concurrency={c}": (lambda c=c: _write_ours(s3, "concurrency", data, concurrency=c))
           for c in levels}
    result = best_interleaved(fns, repeat)
    _read_back(s3_direct, ["concurrency"], data)
    return result


def case_relay_cost(direct: dict[str, str], relayed: dict[str, str], data_dir: Path, chunks: int, mib: int,
                    repeat: int) -> dict[str, float]:
    """What the latency relay itself costs: the same reads (``chunks`` small chunks, from nginx) and writes
    (``mib`` MiB, to moto) straight to the servers and through a relay that adds 0 ms."""
    import numpy as np

    import zarrconv as zc

    data = _small_array(data_dir, chunks)
    planes = _write_data(direct["s3"], mib)

    def read(http: str) -> Callable[[], None]:
        def run() -> None:
            with zc.config.set(remote_store="obstore"):
                assert np.array_equal(zc.open_array(f"{http}/small.zarr")[:], data)
        return run

    result = best_interleaved({"read direct": read(direct["http"]), "read via 0 ms relay": read(relayed["http"]),
                               "write direct": lambda: _write_ours(direct["s3"], "direct", planes),
                               "write via 0 ms relay": lambda: _write_ours(relayed["s3"], "relayed", planes)},
                              repeat)
    _read_back(direct["s3"], ["direct", "relayed"], planes)
    return result


# -- driver ---------------------------------------------------------------------------------------------

def run(args: argparse.Namespace, latency_mode: str) -> dict:
    import numpy as np  # noqa: F401 - imported before timing starts

    load_before = os.getloadavg()
    procs: list[subprocess.Popen] = []
    work = Path(tempfile.mkdtemp(prefix="zc-bench-obstore-"))
    try:
        data_dir = work / "www"
        data_dir.mkdir()
        nginx_port, moto_port = free_port(), free_port()
        procs.append(_nginx(data_dir, work, nginx_port))
        procs.append(start_moto(moto_port))
        direct = {"http": f"http://127.0.0.1:{nginx_port}", "s3": f"http://127.0.0.1:{moto_port}"}
        relayed = dict(direct)
        if latency_mode == "proxy":
            relayed = _relays(procs, nginx_port, moto_port, args.latency)
        cases = {
            "small": (f"{args.chunks:,} small chunks read (s)",
                      lambda: case_small_chunks(relayed["http"], data_dir, args.chunks, args.repeat)),
            "many": (f"{args.vars}-variable dataset opened (s)",
                     lambda: case_many_variables(relayed["http"], data_dir, args.vars, args.repeat)),
            "write": (f"{args.write_mib} MiB array written (s)",
                      lambda: case_write(relayed["s3"], direct["s3"], args.write_mib, args.write_repeat)),
            "concurrency": (f"{args.write_mib} MiB written by zarrconv+obstore (s)",
                            lambda: case_write_concurrency(relayed["s3"], direct["s3"], args.write_mib,
                                                           args.write_repeat, args.write_concurrency)),
            "relay": (f"the relay's own cost: {args.chunks:,} chunks read, {args.relay_write_mib} MiB written (s)",
                      lambda: case_relay_cost(direct, _relays(procs, nginx_port, moto_port, 0.0), data_dir,
                                              args.chunks, args.relay_write_mib, args.repeat)),
        }
        results, loads = {}, {}
        for key, (label, fn) in cases.items():
            if key in (args.cases or DEFAULT_CASES):
                before = os.getloadavg()[0]
                results[label] = fn()
                loads[label] = (before, os.getloadavg()[0])
    finally:
        stop(procs)
        shutil.rmtree(work, ignore_errors=True)
    return {"latency_s": args.latency, "latency_mode": latency_mode, "repeat": args.repeat,
            "load_before": load_before, "load_after": os.getloadavg(), "cases": results, "loads": loads}


def _relays(procs: list[subprocess.Popen], nginx_port: int, moto_port: int, latency: float) -> dict[str, str]:
    """A latency relay (its own process) in front of nginx and one in front of moto; their URLs."""
    out = {}
    for name, target in (("http", nginx_port), ("s3", moto_port)):
        port = free_port()
        procs.append(start([sys.executable, __file__, "--proxy", str(port), str(target), "--latency", str(latency)],
                           f"http://127.0.0.1:{port}/"))
        out[name] = f"http://127.0.0.1:{port}"
    return out


def _print(res: dict) -> None:
    import obstore
    import zarr

    import zarrconv

    print(f"latency {res['latency_s'] * 1000:g} ms per round trip ({res['latency_mode']}), best of {res['repeat']}, "
          f"load average {res['load_before'][0]:.1f} before / {res['load_after'][0]:.1f} after; zarrconv "
          f"{zarrconv.__version__}, obstore {obstore.__version__}, zarr {zarr.__version__}")
    loads = res.get("loads", {})

    def load(case: str) -> str:
        return "{:.1f}-{:.1f}".format(*loads[case]) if case in loads else "?"

    peers = {case: t for case, t in res["cases"].items() if set(IMPLEMENTATIONS) <= set(t)}
    if peers:
        print("\n| case | " + " | ".join(IMPLEMENTATIONS) + " | fsspec / obstore | zarr-python / obstore | load |")
        print("|---|" + "---:|" * (len(IMPLEMENTATIONS) + 3))
    for case, times in peers.items():
        ours = times["zarrconv+obstore"]
        cells = [f"{times[name]:.3f}" for name in IMPLEMENTATIONS]
        print(f"| {case} | " + " | ".join(cells) + f" | {times['zarrconv+fsspec'] / ours:.2f}x | "
              f"{times['zarr-python+ObjectStore'] / ours:.2f}x | {load(case)} |")
    zarr_python_write = next((t["zarr-python+ObjectStore"] for c, t in peers.items() if "written" in c), None)
    for case, times in res["cases"].items():
        if case in peers:
            continue
        relay = any(name.endswith(" via 0 ms relay") for name in times)
        against_peer = "zarrconv+obstore" in case and zarr_python_write is not None
        extra_header = " relay / direct |" if relay else " zarr-python+ObjectStore / this |" if against_peer else ""
        print(f"\n{case}, load {load(case)}:\n| | seconds |{extra_header}\n|---|---:|" + ("---:|" if extra_header else ""))
        for name, t in times.items():
            extra = f" {zarr_python_write / t:.2f}x |" if against_peer else ""
            if relay:  # each operation through the relay against itself, direct
                direct = times[name.replace(" via 0 ms relay", " direct")]
                extra = f" {t / direct:.2f}x |" if name.endswith(" via 0 ms relay") else " |"
            print(f"| {name} | {t:.3f} |{extra}")


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency", type=float, default=0.005, help="seconds per round trip (default 0.005)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--write-repeat", type=int, default=2, help="repeats of the write case (default 2)")
    parser.add_argument("--chunks", type=int, default=1000)
    parser.add_argument("--vars", type=int, default=500)
    parser.add_argument("--write-mib", type=int, default=1024)
    parser.add_argument("--cases", nargs="*", default=[], choices=DEFAULT_CASES,
                        help="a subset of the cases (default: all)")
    parser.add_argument("--write-concurrency", nargs="+", type=int, default=[8, 16, 32, 64],
                        help="remote_concurrency values of the write-concurrency case (default: 8 16 32 64)")
    parser.add_argument("--relay-write-mib", type=int, default=256,
                        help="MiB written in the relay-cost case (default 256)")
    parser.add_argument("--latency-mode", choices=("auto", "netem", "proxy"), default="auto")
    parser.add_argument("--json", help="also write the results to this JSON file")
    parser.add_argument("--proxy", nargs=2, type=int, help=argparse.SUPPRESS)
    parser.add_argument("--inside-netns", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.proxy:
        asyncio.run(_serve_latency_proxy(args.proxy[0], args.proxy[1], args.latency))
        return 0
    mode = args.latency_mode
    if args.inside_netns:
        mode = "netem"
    elif mode in ("auto", "netem"):
        if _netem_available():
            return _run_in_netns(argv, args.latency)
        if mode == "netem":
            raise SystemExit("tc netem is not available here (needs root, iproute2 and the sch_netem module)")
        mode = "proxy"
    res = run(args, mode)
    _print(res)
    if args.json:
        Path(args.json).write_text(json.dumps(res, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
