"""The Janus HTTP API at any URL (sbtest.Http speaks to 127.0.0.1 only), for asyncio clients
in other namespaces or processes: each call is a blocking request on a shared thread pool."""
import asyncio
import concurrent.futures
import http.client
import json
import random
import urllib.parse

_POOL = concurrent.futures.ThreadPoolExecutor(max_workers=48)


class UrlApi:
    def __init__(self, url):
        u = urllib.parse.urlparse(url)
        self.host, self.port, self.base = u.hostname, u.port, u.path

    def call_blocking(self, method, path, body=None, timeout=15):
        """The parsed JSON reply of one request on a connection of its own."""
        conn = http.client.HTTPConnection(self.host, self.port, timeout=timeout)
        try:
            data = json.dumps(body) if body is not None else None
            conn.request(method, self.base + path, body=data,
                         headers={"Content-Type": "application/json"} if data else {})
            return json.loads(conn.getresponse().read())
        finally:
            conn.close()

    async def call(self, method, path, body=None, timeout=15):
        return await asyncio.get_running_loop().run_in_executor(
            _POOL, self.call_blocking, method, path, body, timeout)

    async def post(self, path, body):
        """POST with a random transaction unless body has one."""
        body = dict(body)
        body.setdefault("transaction", "%x" % random.getrandbits(48))
        return await self.call("POST", path, body)
