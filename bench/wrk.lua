-- wrk script for bench/gateway.py: cycles through the benchmark's requests
-- (a tab-separated file: host, path, User-Agent), checks every response
-- (status 307 and a Location on one of the rules' hosts) and, given a delay,
-- sends at a fixed rate per connection (for latency at a chosen load).
--   BENCH_REQUESTS=FILE [BENCH_DELAY_MS=N] wrk ... -s bench/wrk.lua URL

local threads = {}
local pause = tonumber(os.getenv("BENCH_DELAY_MS") or "0")

if pause > 0 then
  function delay()
    return pause
  end
end

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  requests = {}
  for line in io.lines(os.getenv("BENCH_REQUESTS")) do
    local host, path, agent = line:match("^([^\t]*)\t([^\t]*)\t(.*)$")
    requests[#requests + 1] = wrk.format("GET", path, { Host = host, ["User-Agent"] = agent })
  end
  next_index = math.random(#requests)
  good, bad = 0, 0
end

function request()
  next_index = next_index % #requests + 1
  return requests[next_index]
end

function response(status, headers, body)
  local location = headers["Location"] or headers["location"] or ""
  if status == 307 and location:match("^https://[%w.-]+%.example/") then
    good = good + 1
  else
    bad = bad + 1
  end
end

function done(summary, latency, requests)
  local good_total, bad_total = 0, 0
  for _, thread in ipairs(threads) do
    good_total = good_total + thread:get("good")
    bad_total = bad_total + thread:get("bad")
  end
  io.write(string.format("CHECKED good=%d bad=%d\n", good_total, bad_total))
  io.write(string.format("LATENCY p50=%d p99=%d\n", latency:percentile(50), latency:percentile(99)))
end
