"""janode (npm) over WebSocket: connect, create, attach echotest, message and reply,
detach, destroy, close (js/janode_client.mjs does the steps)."""
import os
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from sbtest import WS_PORT, Server, Tap, builddir_from_argv, run_node_steps, \
    stop_and_report

HERE = os.path.dirname(os.path.abspath(__file__))


def main():
    tap = Tap("janode")
    server = Server(builddir_from_argv(), name="janode")
    try:
        run_node_steps(tap, [os.path.join(HERE, "js", "janode_client.mjs"), str(WS_PORT)],
                       expect=["connect", "create a session", "attach the echotest",
                               "message gets its reply with result ok", "detach",
                               "destroy the session", "close the connection"])
    finally:
        stop_and_report(tap, server)
    tap.exit()


if __name__ == "__main__":
    main()
