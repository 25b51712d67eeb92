-- shieldware SetText: store ARGV[2] at KEYS[1], for ARGV[3] microseconds ("" : no expiry); 1.
-- The key is marked as text (a "t:" prefix) so GetText never mistakes a counter for a record.
if ARGV[3] == "" then
  redis.call("SET", KEYS[1], "t:" .. ARGV[2])
else
  redis.call("SET", KEYS[1], "t:" .. ARGV[2], "PX", px(tonumber(ARGV[3])))
end
return 1
