-- shieldware Get: {value, ttl_us} of the counter or marker at KEYS[1]; nil when absent or when
-- the key holds something else (a window, a lease set). Mirrors MemoryStore._read.
if redis.call("TYPE", KEYS[1]).ok ~= "string" then return nil end
local value = tonumber(redis.call("GET", KEYS[1]))
if value == nil or value ~= math.floor(value) then return nil end
local ttl = redis.call("PTTL", KEYS[1])
if ttl < 0 then return {value, -1} end  -- no expiry: not written by us
return {value, ttl * 1000}
