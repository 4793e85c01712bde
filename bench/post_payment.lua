-- POST /api/v1/payments (or the floor's endpoint) with a sandbox card token.
-- Env: BENCH_KEY (API key; empty for the floor), BENCH_PATH (default /api/v1/payments).
wrk.method = "POST"
wrk.path = os.getenv("BENCH_PATH") or "/api/v1/payments"
wrk.headers["Content-Type"] = "application/json"
local key = os.getenv("BENCH_KEY") or ""
if key ~= "" then wrk.headers["Authorization"] = "Bearer " .. key end
wrk.body = '{"amount":1000,"currency":"INR","payment_method":{"type":"card","token":"tok_success"},"description":"bench"}'

done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests":%d,"duration_us":%d,"p50_us":%d,"p99_us":%d,"errors":%d,"non2xx":%d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    e.connect + e.read + e.write + e.timeout, e.status))
end
