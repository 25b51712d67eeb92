-- shieldware Hit: charge every window quota in KEYS, or none of them when any one is full.
--
-- ARGV[4i-2..4i+1]  strategy ("fixed" | "sliding" | "moving"), limit, window_us, cost of window i.
-- Stored per key (all integers in microseconds on the server's clock):
--   fixed    "count end"             expires at end
--   sliding  "start current previous" expires at start + 2 * window
--   moving   a list of hit times, one per unit, oldest first; expires one window after the newest
-- Returns one {allowed, remaining, retry_us, reset_us} per window; retry_us = -1: never.
-- Mirrors shieldware.rate.fixed_window / sliding_window / moving_window exactly.

local function numbers(text)
  local out = {}
  if type(text) == "string" then
    for word in string.gmatch(text, "%S+") do out[#out + 1] = tonumber(word) end
  end
  return out
end

-- Each strategy: (key, limit, size, cost) -> reply, and a writer to run if all windows fit.
local strategies = {}

function strategies.fixed(key, limit, size, cost)
  local s = numbers(redis.call("GET", key))
  local count, finish = 0, now + size
  if s[1] ~= nil and s[2] ~= nil and s[2] > now then count, finish = s[1], s[2] end
  local reset = 0
  if count + cost <= limit then
    count = count + cost
    if count > 0 then reset = finish - now end
    local write = nil
    if cost > 0 then
      write = function()
        redis.call("SET", key, int(count) .. " " .. int(finish), "PX", px(finish - now))
      end
    end
    return {1, limit - count, 0, reset}, write
  end
  local retry = finish - now
  if cost > limit then retry = -1 end
  if count > 0 then reset = finish - now end
  return {0, nonneg(limit - count), retry, reset}, nil
end

function strategies.sliding(key, limit, size, cost)
  local start = idiv(now, size) * size
  local e = now - start
  local cur, prev = 0, 0
  local s = numbers(redis.call("GET", key))
  if s[1] ~= nil and s[2] ~= nil and s[3] ~= nil then
    if s[1] == start then
      cur, prev = s[2], s[3]
    elseif s[1] == start - size then
      prev = s[2]
    end
  end
  local headroom = limit * size - prev * (size - e)
  if (cur + cost) * size <= headroom then
    cur = cur + cost
    local reset = 0
    if cur > 0 or prev > 0 then reset = size - e end
    local write = nil
    if cost > 0 then
      write = function()
        local value = int(start) .. " " .. int(cur) .. " " .. int(prev)
        redis.call("SET", key, value, "PX", px(start + 2 * size - now))
      end
    end
    return {1, nonneg(idiv(headroom, size) - cur), 0, reset}, write
  end
  local retry
  if cost > limit then
    retry = -1
  elseif cur + cost <= limit then
    retry = nonneg(size - idiv((limit - cur - cost) * size, prev) - e)
  else
    retry = nonneg(size - e + size - idiv((limit - cost) * size, cur))
  end
  local reset = 0
  if cur > 0 or prev > 0 then reset = size - e end
  return {0, nonneg(idiv(headroom, size) - cur), retry, reset}, nil
end

function strategies.moving(key, limit, size, cost)
  local horizon = now - size
  local hits = {}
  if redis.call("TYPE", key).ok == "list" then
    for _, t in ipairs(redis.call("LRANGE", key, 0, -1)) do
      local v = tonumber(t)
      if v ~= nil and v > horizon then hits[#hits + 1] = v end
    end
  end
  local count = #hits
  if count + cost <= limit then
    for _ = 1, cost do hits[#hits + 1] = now end
    local reset = 0
    if #hits > 0 then reset = nonneg(hits[1] + size - now) end
    local write = nil
    if cost > 0 then
      write = function()
        redis.call("DEL", key)
        for first = 1, #hits, 1000 do
          local chunk = {}
          for j = first, math.min(first + 999, #hits) do chunk[#chunk + 1] = int(hits[j]) end
          redis.call("RPUSH", key, unpack(chunk))
        end
        redis.call("PEXPIRE", key, px(size))
      end
    end
    return {1, limit - #hits, 0, reset}, write
  end
  local retry = -1
  if cost <= limit then retry = nonneg(hits[count + cost - limit] + size - now) end
  local reset = 0
  if count > 0 then reset = nonneg(hits[1] + size - now) end
  return {0, nonneg(limit - count), retry, reset}, nil
end

local out, writes, args = {}, {}, {}
local all_ok = true
for i = 1, #KEYS do
  local strategy = strategies[ARGV[4 * i - 2]]
  if strategy == nil then return redis.error_reply("unknown window strategy " .. ARGV[4 * i - 2]) end
  local limit, size, cost = tonumber(ARGV[4 * i - 1]), tonumber(ARGV[4 * i]), tonumber(ARGV[4 * i + 1])
  args[i] = {strategy, limit, size}
  out[i], writes[i] = strategy(KEYS[i], limit, size, cost)
  if out[i][1] == 0 then all_ok = false end
end

if all_ok then
  for i = 1, #KEYS do
    if writes[i] ~= nil then writes[i]() end
  end
  return out
end

-- Rejected: nothing is charged; windows that had room report their state with a cost of 0.
for i = 1, #KEYS do
  if out[i][1] == 1 then
    local a = args[i]
    out[i] = a[1](KEYS[i], a[2], a[3], 0)
  end
end
return out
