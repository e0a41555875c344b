-- wrk: POST /api/v1/bench/probe/, the floor: authenticated, a small body validated, one row inserted.
-- wrk -t1 -c<n> -d<s> -s floor.lua <base> -- <tokens file>
-- Each request takes the next user's token, as intake.lua does.
local tokens, n = {}, 0
local headers = {["Content-Type"] = "application/json"}

function init(args)
  for line in io.lines(args[1]) do tokens[#tokens + 1] = "Bearer " .. line end
end

function request()
  n = n + 1
  headers["Authorization"] = tokens[n % #tokens + 1]
  return wrk.format("POST", "/api/v1/bench/probe/", headers, '{"name":"probe-' .. n .. '","value":' .. n % 1000 .. '}')
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRK_RESULT {"requests":%d,"duration_us":%d,"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d,' ..
    '"p50_us":%d,"p99_us":%d}\n', summary.requests, summary.duration, e.connect, e.read, e.write, e.status,
    e.timeout, latency:percentile(50), latency:percentile(99)))
end
