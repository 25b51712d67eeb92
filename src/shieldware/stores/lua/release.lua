-- shieldware Release: give lease ARGV[2] in KEYS[1] back; 1 when it was still held (unexpired).
-- Expired leases go too; the key lives as long as its longest lease. Mirrors MemoryStore._release.
local key, lease = KEYS[1], ARGV[2]
local score = tonumber(redis.call("ZSCORE", key, lease))
redis.call("ZREMRANGEBYSCORE", key, "-inf", int(now))
redis.call("ZREM", key, lease)
local last = redis.call("ZRANGE", key, -1, -1, "WITHSCORES")
if last[2] then
  redis.call("PEXPIRE", key, px(tonumber(last[2]) - now))
end
if score ~= nil and score > now then return 1 end
return 0
