-- Visitors (read only). ARGV[6..]: visitor ids. Reply per visitor: '1'
-- when a socket of theirs is open, else '0', and the moment they left (ms,
-- '0' when not gone).
local r = {}
for i = 6, #ARGV do
  local v = ARGV[i]
  if redis.call('HLEN', k_vsock(v)) > 0 then
    r[#r + 1], r[#r + 2] = '1', '0'
  else
    r[#r + 1], r[#r + 2] = '0', int(tonumber(redis.call('ZSCORE', K_VGONE, v)) or 0)
  end
end
return r
