--! uses: transition
local fields = {'finished_at', ARGV[4], 'updated_at', ARGV[4], 'errcode', '', 'errmsg', ARGV[5]}
local cancelled = 0
for n = tonumber(ARGV[2]), tonumber(ARGV[3]) do
    local item = ARGV[1] .. n
    local lock = item .. ':lock'
    if redis.call('EXISTS', lock) == 0 then
        local done = transition(item, KEYS[1], KEYS[2], lock, 'advance', 'cancelled', 0, fields)
        cancelled = cancelled + done[1]
    end
end
return cancelled
