-- shieldware GCRA: charge every bucket in KEYS, or none of them when any one rejects.
--
-- KEYS[i]      the bucket keys (a multi-key call must stay in one cluster slot: the layer
--              hash-tags them).
-- ARGV[1]      "" to use the server's TIME (always, in production), or a clock value in
--              microseconds (tests drive the script and the Python reference with one clock).
-- ARGV[3i-1..3i+1]  interval_us, capacity, cost of bucket i.
--
-- Returns one {allowed, remaining, retry_us, reset_us} per bucket, integers only (a float
-- returned from Lua is truncated by Redis): retry_us = -1 means "can never conform".
-- Mirrors shieldware.rate.gcra / peek exactly (tests/stores compare them).

if redis.replicate_commands then redis.replicate_commands() end

local now
if ARGV[1] == "" then
  local t = redis.call("TIME")
  now = tonumber(t[1]) * 1000000 + tonumber(t[2])
else
  now = tonumber(ARGV[1])
end

-- floor(a / b) for non-negative integers held in doubles, corrected for rounding.
local function idiv(a, b)
  local q = math.floor(a / b)
  if q * b > a then
    q = q - 1
  elseif (q + 1) * b <= a then
    q = q + 1
  end
  return q
end

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
    local ttl_ms = math.ceil((new_tats[i] - now) / 1000)
    if ttl_ms < 1 then ttl_ms = 1 end  -- PX 0 would delete the key: an unlimited bucket
    redis.call("SET", KEYS[i], string.format("%.0f", new_tats[i]), "PX", string.format("%.0f", ttl_ms))
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
