-- shieldware: shared head of every script (prepended by RedisStore, not run on its own).
--
-- ARGV[1] is "" in production: the clock is the server's TIME, so every app host agrees on it.
-- Tests pass a clock value in microseconds to drive a script and its Python reference together.
-- Times are integer microseconds held in Lua doubles (exact below 2^53, about 285 years).
-- Replies are integers only: Redis truncates a float reply.

if redis.replicate_commands then redis.replicate_commands() end

local now
if ARGV[1] == "" then
  local t = redis.call("TIME")
  now = tonumber(t[1]) * 1000000 + tonumber(t[2])
else
  now = tonumber(ARGV[1])
end

-- floor(a / b) for integers held in doubles (b > 0), corrected for rounding.
local function idiv(a, b)
  local q = math.floor(a / b)
  if q * b > a then
    q = q - 1
  elseif (q + 1) * b <= a then
    q = q + 1
  end
  return q
end

-- An integer as text: tostring() would print 14 significant digits ("1.795884805072e+15").
local function int(x)
  return string.format("%.0f", x)
end

-- A relative TTL in microseconds as PX milliseconds: rounded up, never 0 (PX 0 is an error and
-- an expiry that rounds to nothing would make a limit vanish).
local function px(us)
  local ms = math.ceil(us / 1000)
  if ms < 1 then ms = 1 end
  return int(ms)
end

local function nonneg(x)
  if x < 0 then return 0 end
  return x
end
