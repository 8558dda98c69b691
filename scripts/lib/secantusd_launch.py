"""secantusd-py, launched so that a hang can be diagnosed and the TTL sweep can be tuned.

Usage: secantusd_launch.py [--ttl-sweep-seconds SECONDS] [secantusd-py flags]

SIGUSR1 writes every thread's stack to stderr (the server's log): SecantusDB's own stop-timeout
report shows only connection threads, and a lock held by a background thread (the TTL sweeper,
the oplog heartbeat) is invisible there. scripts/lib/common.sh, dump_secantus_threads, sends it.

SecantusDB 0.7.0b3 reads `ttl_sweep_seconds` from its config file but its launcher does not pass
it on to the server, so --ttl-sweep-seconds sets it where the server is built. Why the
benchmarks want a longer interval: scripts/lib/common.sh, start_secantus.
"""

import faulthandler
import signal
import sys

from secantus import cli, server

faulthandler.register(signal.SIGUSR1, all_threads=True)

if len(sys.argv) > 2 and sys.argv[1] == "--ttl-sweep-seconds":
    sweep = float(sys.argv[2])
    del sys.argv[1:3]
    build = server.SecantusDBServer.__init__

    def with_sweep(self, *args, **kwargs):
        kwargs["ttl_sweep_seconds"] = sweep
        build(self, *args, **kwargs)

    server.SecantusDBServer.__init__ = with_sweep

sys.exit(cli.main())
