-- shieldware Incr: add ARGV[3] to the counter at KEYS[1] (0 when absent or not a number) and
-- (re)set its life to ARGV[2] microseconds. Returns the new value. Mirrors MemoryStore._incr.
local value = (tonumber(redis.call("GET", KEYS[1])) or 0) + tonumber(ARGV[3])
redis.call("SET", KEYS[1], int(value), "PX", px(tonumber(ARGV[2])))
return value
