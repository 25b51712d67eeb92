-- shieldware Add: record KEYS[1] for ARGV[2] microseconds unless present; 1 when it was new.
if redis.call("SET", KEYS[1], "1", "PX", px(tonumber(ARGV[2])), "NX") then
  return 1
end
return 0
