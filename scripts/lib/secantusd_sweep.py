"""secantusd-py with another TTL sweep interval: secantusd_sweep.py SECONDS [secantusd-py flags].

SecantusDB 0.7.0b3 reads `ttl_sweep_seconds` from its config file but its launcher does not pass
it on to the server, so this wraps the launcher and sets it where the server is built. Why the
benchmarks want a longer interval: scripts/lib/common.sh, start_secantus.
"""

import sys

from secantus import cli, server

sweep = float(sys.argv.pop(1))
build = server.SecantusDBServer.__init__


def with_sweep(self, *args, **kwargs):
    kwargs["ttl_sweep_seconds"] = sweep
    build(self, *args, **kwargs)


server.SecantusDBServer.__init__ = with_sweep
sys.exit(cli.main())
