-- wrk: POST /api/v1/assessments/ as the clinic apps do, one fresh patient per request.
-- wrk -t1 -c<n> -d<s> -s intake.lua <base> -- <tokens file> <patient ids file> <answers file> <first patient>
-- Each request takes the next user's token, the next patient and the next
-- answers (one JSON object per line: the public vignettes'), with an
-- Idempotency-Key. done() reports how far the patients went, for the next run.
local tokens, patients, answers, next_answers = {}, {}, {}, 1
local headers = {["Content-Type"] = "application/json"}
local threads = {}
next_patient = 1

function setup(thread)
  threads[#threads + 1] = thread
end

function init(args)
  for line in io.lines(args[1]) do tokens[#tokens + 1] = "Bearer " .. line end
  for line in io.lines(args[2]) do patients[#patients + 1] = line end
  for line in io.lines(args[3]) do answers[#answers + 1] = line end
  next_patient = tonumber(args[4]) + 1
end

function request()
  local patient = patients[(next_patient - 1) % #patients + 1]
  local body = '{"patient":"' .. patient .. '","answers":' .. answers[next_answers] .. '}'
  headers["Authorization"] = tokens[next_patient % #tokens + 1]
  headers["Idempotency-Key"] = "bench-" .. patient
  next_patient = next_patient + 1
  next_answers = next_answers % #answers + 1
  return wrk.format("POST", "/api/v1/assessments/", headers, body)
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRK_RESULT {"requests":%d,"duration_us":%d,"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d,' ..
    '"p50_us":%d,"p99_us":%d,"next_patient":%d}\n', summary.requests, summary.duration, e.connect, e.read, e.write,
    e.status, e.timeout, latency:percentile(50), latency:percentile(99), threads[1]:get("next_patient")))
end
