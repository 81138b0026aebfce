-- /check round-robin over many tokens, for host/bench/scale.sh.
--
--   wrk -t2 -c64 -d10s -s round-robin.lua http://127.0.0.1:PORT/check -- TOKENS_FILE THREADS
--
-- TOKENS_FILE holds one token a line, "SECRET URI [ID]" (what scale/issue.py writes); each request
-- is the next token's check as nginx's auth_request sends it (Authorization, X-Original-Method,
-- X-Original-URI). The requests are formatted once per thread in init, so the client's share of
-- the two cores stays what it is for a single fixed request; each thread starts at its own
-- offset, so two threads do not walk the list in step.
local started = 0

function setup(thread)
  thread:set("thread_index", started)
  started = started + 1
end

function init(args)
  local file, threads = args[1], tonumber(args[2] or "1")
  requests = {}
  for line in io.lines(file) do
    local secret, uri = line:match("^(%S+)%s+(%S+)")
    if secret then
      requests[#requests + 1] = wrk.format("GET", "/check", {
        ["Authorization"] = "Bearer " .. secret,
        ["X-Original-Method"] = "GET",
        ["X-Original-URI"] = uri,
      })
    end
  end
  if #requests == 0 then
    error("no tokens in " .. tostring(file))
  end
  position = math.floor((thread_index or 0) * #requests / threads)
end

function request()
  position = position % #requests + 1
  return requests[position]
end
