-- shieldware Add: record KEYS[1] for ARGV[1] milliseconds unless present; 1 when it was new.
-- The TTL is rounded up by the caller and never below 1 ms (PX 0 is an error, not "expire now").
if redis.call("SET", KEYS[1], "1", "PX", ARGV[1], "NX") then
  return 1
end
return 0
