-- shieldware Acquire: take one of ARGV[3] leases in the sorted set KEYS[1] (member: lease name
-- ARGV[2], score: expiry in microseconds), expiring after ARGV[4] microseconds. Expired leases,
-- and an earlier lease of the same name, are dropped before counting. The key lives as long as
-- its longest lease. Returns {acquired, in_flight}. Mirrors MemoryStore._acquire.
local key, lease, limit = KEYS[1], ARGV[2], tonumber(ARGV[3])
redis.call("ZREMRANGEBYSCORE", key, "-inf", int(now))
redis.call("ZREM", key, lease)
local live = redis.call("ZCARD", key)
local acquired = 0
if live < limit then
  redis.call("ZADD", key, int(now + tonumber(ARGV[4])), lease)
  live = live + 1
  acquired = 1
end
if live > 0 then
  local last = redis.call("ZRANGE", key, -1, -1, "WITHSCORES")
  redis.call("PEXPIRE", key, px(tonumber(last[2]) - now))
end
return {acquired, live}
