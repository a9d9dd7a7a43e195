-- wrk script for `just bench-compare` (tools/bench-compare/compare.py): replays a prepared list
-- of HTTP requests, the same list for every target, so every target gets the same random
-- bookings in the same order.
--
--   wrk -t T -c C -d 15s -s requests.lua URL -- FILE T
--
-- FILE holds one request per line, four tab-separated fields: method, path, the value of the
-- Authorization header (or "-" for none) and the body (or "-" for none). Thread i (0-based) of
-- T takes lines i+1, i+1+T, i+1+2T, … and cycles through them; every request is built once, in
-- init, before the clock starts. done() prints one line `BENCH_JSON {…}` for compare.py.

local counter = 0
local threads = {}

function setup(thread)
   thread:set("id", counter)
   table.insert(threads, thread)
   counter = counter + 1
end

local reqs = {}
local n = 0
local i = 0

local function split_tabs(line)
   local fields = {}
   local start = 1
   while true do
      local tab = string.find(line, "\t", start, true)
      if not tab then
         table.insert(fields, string.sub(line, start))
         return fields
      end
      table.insert(fields, string.sub(line, start, tab - 1))
      start = tab + 1
   end
end

function init(args)
   local file = args[1]
   local nthreads = tonumber(args[2] or "1")
   local f = assert(io.open(file, "r"))
   local lineno = 0
   for line in f:lines() do
      if lineno % nthreads == id then
         local fields = split_tabs(line)
         local method, path, auth, body = fields[1], fields[2], fields[3], fields[4]
         local headers = { ["Host"] = "127.0.0.1" }
         if auth ~= nil and auth ~= "-" then
            headers["Authorization"] = auth
         end
         if body == nil or body == "-" then
            body = nil
         else
            headers["Content-Type"] = "application/json"
         end
         n = n + 1
         reqs[n] = wrk.format(method, path, headers, body)
      end
      lineno = lineno + 1
   end
   f:close()
   assert(n > 0, "no requests for thread " .. tostring(id) .. " in " .. file)
end

function request()
   i = i + 1
   if i > n then
      i = 1
   end
   return reqs[i]
end

function done(summary, latency, requests)
   local e = summary.errors
   io.write(string.format(
      'BENCH_JSON {"requests":%d,"duration_us":%d,"bytes":%d,' ..
      '"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},' ..
      '"latency_us":{"p50":%d,"p90":%d,"p99":%d,"mean":%.1f,"max":%d}}\n',
      summary.requests, summary.duration, summary.bytes,
      e.connect, e.read, e.write, e.status, e.timeout,
      latency:percentile(50), latency:percentile(90), latency:percentile(99),
      latency.mean, latency.max))
end
