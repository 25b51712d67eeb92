-- shieldware GetText: the text a SetText stored at KEYS[1]; nil when absent or not ours.
-- Mirrors MemoryStore._get_text.
if redis.call("TYPE", KEYS[1]).ok ~= "string" then return nil end
local value = redis.call("GET", KEYS[1])
if string.sub(value, 1, 2) ~= "t:" then return nil end
return string.sub(value, 3)
