-- shieldware GCRA: charge every bucket in KEYS, or none of them when any one rejects.
--
-- KEYS[i]      the bucket keys (a multi-key call must stay in one cluster slot: the layer
--              hash-tags them).
-- ARGV[1]      the clock override (see prelude.lua).
-- ARGV[3i-1..3i+1]  interval_us, capacity, cost of bucket i.
--
-- Returns one {allowed, remaining, retry_us, reset_us} per bucket, integers only (a float
-- returned from Lua is truncated by Redis): retry_us = -1 means "can never conform".
-- Mirrors shieldware.rate.gcra / peek exactly (tests/stores compare them).

local function remaining(headroom, interval)
  if headroom <= 0 then return 0 end
  return idiv(headroom, interval)
end

local n = #KEYS
local tats, new_tats, out = {}, {}, {}
local all_ok = true
for i = 1, n do
  local interval = tonumber(ARGV[3 * i - 1])
  local capacity = tonumber(ARGV[3 * i])
  local cost = tonumber(ARGV[3 * i + 1])
  local limit = capacity * interval
  local tat = tonumber(redis.call("GET", KEYS[i]))  -- nil when absent or corrupt: a full bucket
  tats[i] = tat
  local base = now
  if tat ~= nil and tat >= now then
    base = math.min(tat, now + limit)  -- clamp state that cannot be (clock jump, failover)
  end
  local new_tat = base + cost * interval
  if cost > capacity then
    all_ok = false
    out[i] = {0, remaining(limit - (base - now), interval), -1, base - now}
  elseif new_tat - now <= limit then
    new_tats[i] = new_tat
    out[i] = {1, remaining(limit - (new_tat - now), interval), 0, new_tat - now}
  else
    all_ok = false
    out[i] = {0, remaining(limit - (base - now), interval), new_tat - limit - now, base - now}
  end
end

if all_ok then
  for i = 1, n do
    redis.call("SET", KEYS[i], int(new_tats[i]), "PX", px(new_tats[i] - now))
  end
  return out
end

-- Rejected: nothing is charged; the buckets that would have conformed report their untouched state.
for i = 1, n do
  if out[i][1] == 1 then
    local interval = tonumber(ARGV[3 * i - 1])
    local limit = tonumber(ARGV[3 * i]) * interval
    local debt = 0
    if tats[i] ~= nil and tats[i] >= now then debt = math.min(tats[i] - now, limit) end
    out[i] = {1, remaining(limit - debt, interval), 0, debt}
  end
end
return out
