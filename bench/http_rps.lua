-- wrk script for bench/http_rps.sh: alternates POST create and POST destroy of the
-- session the previous create returned (per wrk thread), and counts API errors.
local ids = {}
creates, destroys, errors = 0, 0, 0
local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function request()
  local id = table.remove(ids)
  if id then
    destroys = destroys + 1
    return wrk.format("POST", "/janus/" .. id, {["Content-Type"] = "application/json"},
                      '{"janus":"destroy","transaction":"d"}')
  end
  creates = creates + 1
  return wrk.format("POST", "/janus", {["Content-Type"] = "application/json"},
                    '{"janus":"create","transaction":"c"}')
end

function response(status, headers, body)
  if status ~= 200 or body:find('"janus":"error"', 1, true) then
    errors = errors + 1
    return
  end
  local id = body:match('"data":{"id":(%d+)}')
  if id then
    table.insert(ids, id)
  end
end

function done(summary, latency, requests)
  local c, d, e = 0, 0, 0
  for _, t in ipairs(threads) do
    c = c + t:get("creates")
    d = d + t:get("destroys")
    e = e + t:get("errors")
  end
  io.write(string.format("creates %d, destroys %d, API errors %d\n", c, d, e))
  io.write(string.format("latency p50 %.0fus p99 %.0fus\n",
                         latency:percentile(50), latency:percentile(99)))
  io.write(string.format("RPS %.0f\n", summary.requests / (summary.duration / 1e6)))
end
