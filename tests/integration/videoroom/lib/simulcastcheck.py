"""The simulcast page's steps (web/videoroom_simulcast.html, sbSimulcast), judged: each
substream decodes at its resolution, temporal layer 0 lowers the frame rate, the top layer
stopping falls back and comes back. Shared by test_simulcast_chromium.py (one node) and
test_cluster_simulcast_chromium.py (the subscriber on another node)."""
import json

# The steps the checks below expect, in order.
STEPS = [{"substream": 2}, {"substream": 0}, {"substream": 1},
         {"substream": 2, "temporal": 0}, {"substream": 2, "temporal": 2},
         {"encoding": "h", "active": False}, {"encoding": "h", "active": True}]


def check_steps(t, r, where=""):
    """r: the page's result for STEPS; where: who decodes, for the case names."""
    t.note("publisher layers after the ramp: %s" % json.dumps(r["layers"]))
    for m in r["results"]:
        t.note("%s -> %sx%s at %.1f fps (decoded %s, keyframes %s, pli %s, nack %s, lost %s)"
               % (json.dumps(m["settings"]), m["width"], m["height"], m["fps"] or 0,
                  m["decoded"], m["keyframes"], m["pli"], m["nack"], m["lost"]))
    res = r["results"]
    widths = [m["width"] for m in res]
    t.eq(widths[:3], [1280, 320, 640],
         "%ssubstreams 2, 0, 1 decode at 1280, 320, 640 wide" % where)
    t.ok(res[3]["fps"] < 0.7 * res[4]["fps"],
         "temporal layer 0 lowers the frame rate (%.1f vs %.1f fps)"
         % (res[3]["fps"] or 0, res[4]["fps"] or 0))
    t.eq(widths[5:7], [640, 1280],
         "the high layer stops: fallback to 640 wide; it comes back: 1280 again")
    t.ok(all(m["fps"] > 3 for m in res), "video keeps decoding across every switch")
