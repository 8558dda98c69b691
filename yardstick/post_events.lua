-- wrk script for scripts/yardstick: POST /event with BATCH events per request (env BATCH,
-- default 1; SITE, default "yardstick"). Every event is a page view; paths cycle over 50 and
-- user ids over 100,000 per wrk thread, so /stats has paths and users to aggregate. No
-- timestamp: the service stamps each event with the time it was received.
local threads = 0

function setup(thread)
  thread:set("id", threads)
  threads = threads + 1
end

function init(args)
  batch = tonumber(os.getenv("BATCH") or "1")
  site = os.getenv("SITE") or "yardstick"
  n = 0
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
end

local function event()
  n = n + 1
  return string.format('{"site_id":"%s","event_type":"page_view","path":"/page/%d","user_id":"u%d-%d"}',
    site, n % 50, id, n % 100000)
end

function request()
  local body
  if batch == 1 then
    body = event()
  else
    local events = {}
    for i = 1, batch do events[i] = event() end
    body = "[" .. table.concat(events, ",") .. "]"
  end
  return wrk.format(nil, "/event", nil, body)
end
