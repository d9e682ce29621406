-- wrk script of make bench-compare. Every request carries a shopper's
-- cookie, as in a shop; with BENCH_URLS > 0 each request asks for a random
-- page BENCH_PREFIX..n, n in [0, BENCH_URLS). done() prints one line the
-- runner reads: exact counts and latencies in microseconds.
local urls = tonumber(os.getenv("BENCH_URLS") or "0")
local prefix = os.getenv("BENCH_PREFIX") or "/u/"
wrk.headers["Cookie"] = "session=bench-shopper; cart=3"

if urls > 0 then
  function init(args)
    math.randomseed(os.time())
  end
  function request()
    return wrk.format(nil, prefix .. math.random(0, urls - 1))
  end
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "BENCH requests=%d duration_us=%d bytes=%d connect=%d read=%d write=%d status=%d timeout=%d p50_us=%d p99_us=%d max_us=%d\n",
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(99), latency.max))
end
