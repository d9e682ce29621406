-- wrk script of make bench-compare. Every request carries a shopper's
-- cookie, as in a shop; with BENCH_URLS > 0 each request asks for a random
-- page BENCH_PREFIX..n, n in [0, BENCH_URLS). done() prints one line the
-- runner reads: exact counts and latencies in microseconds.
local urls = tonumber(os.getenv("BENCH_URLS") or "0")
local prefix = os.getenv("BENCH_PREFIX") or "/u/"
wrk.headers["Cookie"] = "session=bench-shopper; cart=3"

if urls > 0 then
  -- Every request is formatted once, here, into reqs[n + 1]: wrk.format
  -- on each request made wrk, not the server, the bottleneck of this
  -- scenario. wrk calls init after it has set the Host header, so each
  -- string is a complete request with the cookie.
  local reqs = {}
  function init(args)
    math.randomseed(os.time())
    for n = 0, urls - 1 do
      reqs[n + 1] = wrk.format(nil, prefix .. n)
    end
  end
  function request()
    return reqs[math.random(urls)]
  end
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "BENCH requests=%d duration_us=%d bytes=%d connect=%d read=%d write=%d status=%d timeout=%d p50_us=%d p99_us=%d max_us=%d\n",
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(99), latency.max))
end
