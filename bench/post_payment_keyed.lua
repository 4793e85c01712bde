-- POST /api/v1/payments as post_payment.lua, with a unique Idempotency-Key per request.
-- Env: BENCH_KEY (API key), BENCH_PATH (default /api/v1/payments).
local path = os.getenv("BENCH_PATH") or "/api/v1/payments"
local key = os.getenv("BENCH_KEY") or ""
local body = '{"amount":1000,"currency":"INR","payment_method":{"type":"card","token":"tok_success"},"description":"bench"}'
local threads, counter, prefix = {}, 0, ""

setup = function(thread)
  thread:set("tid", #threads + 1)
  table.insert(threads, thread)
end

init = function(args)
  prefix = string.format("bench-%d-%d-%d-", os.time(), tid or 0, math.random(1, 1e9))
end

request = function()
  counter = counter + 1
  local headers = {["Content-Type"] = "application/json", ["Idempotency-Key"] = prefix .. counter}
  if key ~= "" then headers["Authorization"] = "Bearer " .. key end
  return wrk.format("POST", path, headers, body)
end

done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests":%d,"duration_us":%d,"p50_us":%d,"p99_us":%d,"errors":%d,"non2xx":%d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    e.connect + e.read + e.write + e.timeout, e.status))
end
