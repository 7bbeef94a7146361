--! uses: nothing_open
if redis.call('HEXISTS', KEYS[1], 'submitting') == 0 then return false end
if redis.call('EXISTS', KEYS[4]) == 1 then return false end
local counts, pbx_counts, stored, queued = {}, {}, 0, {}
for n = 1, tonumber(ARGV[2]) do
    local f = redis.call('HMGET', ARGV[1] .. n, 'state', 'pbx')
    if f[1] then
        stored = stored + 1
        counts[f[1]] = (counts[f[1]] or 0) + 1
        local key = f[2] .. '|' .. f[1]
        pbx_counts[key] = (pbx_counts[key] or 0) + 1
        if f[1] == 'queued' then
            queued[#queued + 1] = n
            queued[#queued + 1] = f[2]
        end
    end
end
redis.call('DEL', KEYS[1], KEYS[2], KEYS[4])
for state, n in pairs(counts) do redis.call('HSET', KEYS[1], state, n) end
for key, n in pairs(pbx_counts) do redis.call('HSET', KEYS[2], key, n) end
redis.call('HSET', KEYS[3], 'total', stored)
if nothing_open(KEYS[1]) then redis.pcall('PUBLISH', KEYS[1], 'final') end
return queued
