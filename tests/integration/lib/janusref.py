"""Debian's janus, the reference server, started by a test on loopback to compare
behaviours (see TESTING.md)."""
import os
import shutil
import subprocess
import tempfile

from sbtest import wait_port


class JanusRef:
    """Debian's janus (the reference server) on loopback: HTTP API on port, EchoTest and
    VideoRoom (built with usrsctp: data channels too). stop() ends it."""

    def __init__(self, port, enforce="lo", textroom=None, http_ip="127.0.0.1",
                 session_timeout=None, admin_port=None, admin_secret=None, token_auth=False,
                 token_auth_secret=None, api_secret=None):
        """enforce: janus's nat.ice_enforce_list. It gathers no candidate on loopback, so a
        test that makes calls through it gives it an interface of its own (a veth).
        textroom: the TextRoom's janus.plugin.textroom.jcfg text, to load that plugin too
        (None: not loaded). http_ip: the address the HTTP API listens on (None: all, for
        pages in other namespaces). session_timeout: janus's general.session_timeout in
        seconds (None: its default, 60). admin_port: its Admin API on that port (at /admin,
        on 127.0.0.1; None: off), admin_secret its secret. token_auth: tokens required,
        signed with token_auth_secret when given (else stored ones, added by admin calls).
        api_secret: janus's general.api_secret (None: none)."""
        self.dir = tempfile.mkdtemp(prefix="sbtest-janus-")
        lib = "/usr/lib/x86_64-linux-gnu/janus"
        off = ["audiobridge", "duktape", "lua", "nosip", "recordplay", "sip", "streaming",
               "voicemail", "videocall"]
        if textroom is None:
            off.append("textroom")
        disable = ",".join("libjanus_%s.so" % p for p in off)
        files = {
            "janus.jcfg": """general: { configs_folder = "%s" plugins_folder = "%s/plugins"
  transports_folder = "%s/transports" events_folder = "%s/none" loggers_folder = "%s/none"
  debug_level = 3 %s%s}
nat: { ice_enforce_list = "%s" ignore_mdns = true }
plugins: { disable = "%s" }
transports: { disable = "libjanus_mqtt.so,libjanus_nanomsg.so,libjanus_pfunix.so,libjanus_rabbitmq.so,libjanus_websockets.so" }
""" % (self.dir, lib, lib, self.dir, self.dir,
       "" if session_timeout is None else "session_timeout = %d " % session_timeout,
       "".join([
           'admin_secret = "%s" ' % admin_secret if admin_secret else "",
           "token_auth = true " if token_auth else "",
           'token_auth_secret = "%s" ' % token_auth_secret if token_auth_secret else "",
           'api_secret = "%s" ' % api_secret if api_secret else ""]),
       enforce, disable),
            "janus.transport.http.jcfg": 'general: { base_path = "/janus" http = true port = %d '
                                         '%s}\nadmin: { %s }\n'
                                         % (port, 'ip = "%s" ' % http_ip if http_ip else "",
                                            'admin_base_path = "/admin" admin_http = true '
                                            'admin_port = %d admin_ip = "127.0.0.1"' % admin_port
                                            if admin_port else "admin_http = false"),
            "janus.plugin.videoroom.jcfg": "general: { }\n",
            "janus.plugin.echotest.jcfg": "general: { }\n",
        }
        if textroom is not None:
            files["janus.plugin.textroom.jcfg"] = textroom
        for name, text in files.items():
            with open(os.path.join(self.dir, name), "w") as f:
                f.write(text)
        os.mkdir(os.path.join(self.dir, "none"))
        self.log = open(os.path.join(self.dir, "janus.log"), "wb")
        self.proc = subprocess.Popen(
            ["janus", "-C", os.path.join(self.dir, "janus.jcfg"), "-F", self.dir],
            stdin=subprocess.DEVNULL, stdout=self.log, stderr=subprocess.STDOUT)
        wait_port(port, proc=self.proc)

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()
        if not os.environ.get("SB_TEST_KEEP"):
            shutil.rmtree(self.dir, ignore_errors=True)
