"""localstripe bound to loopback with a private store: the child process the platform stand-in starts.

``localstripe --port P`` binds ``::`` (every interface) and keeps its store in ``/tmp/localstripe.pickle``, a path
every session on the machine shares. The sandbox binds only loopback and gives each run its own state, so this
runs localstripe's own aiohttp application (``localstripe.server.app``) on 127.0.0.1 with the store's pickle
in a file of our choosing.

    python -m sandbox.platform.localstripe_child --port P --store DIR/localstripe.pickle
"""

from __future__ import annotations

import argparse
import pickle
import sys
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--store", type=Path, required=True, help="the store's pickle (started empty)")
    args = p.parse_args(argv)
    if not args.host.startswith("127."):
        raise SystemExit("localstripe_child: --host %s is not loopback; accepted: 127.0.0.0/8" % args.host)
    from aiohttp import web
    from localstripe import resources, server

    store_file: Path = args.store

    def dump_to_disk(self: resources.Store) -> None:  # the store's own writes, to our file
        tmp = store_file.with_suffix(".tmp")
        with tmp.open("wb") as f:
            pickle.dump(dict(self), f, protocol=pickle.HIGHEST_PROTOCOL)
        tmp.replace(store_file)

    resources.Store.dump_to_disk = dump_to_disk  # type: ignore[method-assign]
    resources.Store.try_load_from_disk = lambda self: None  # type: ignore[method-assign]
    web.run_app(server.app, host=args.host, port=args.port, access_log=None, print=None)
    return 0


if __name__ == "__main__":
    sys.exit(main())
