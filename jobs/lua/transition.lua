--! uses: nothing_open
-- The one state change of an item: its hash and its job's counts together (see
-- jobs/transitions.py). mode 'advance' applies unless the item is final; 'requeue' only to an
-- item `retry` queues again. `fields` is a flat list: field, value, field, value... Reaching a
-- final state drops the item's lock, and the item that makes its job final says so on the job's
-- channel. Returns {applied (1/0), the old state}.
local final = {succeeded=true, exists=true, updated=true, failed=true, rejected=true,
               cancelled=true}
local retried = {failed=true, cancelled=true}

local function transition(item, counts, pbx_counts, lock, mode, new, add_attempts, fields)
    local old = redis.call('HGET', item, 'state')
    if not old then return {0, ''} end
    if mode == 'advance' and final[old] then return {0, old} end
    if mode == 'requeue' and not retried[old] then return {0, old} end
    redis.call('HSET', item, 'state', new, unpack(fields))
    if tostring(add_attempts) ~= '0' then redis.call('HINCRBY', item, 'attempts', add_attempts) end
    if old ~= new then
        local pbx = redis.call('HGET', item, 'pbx')
        redis.call('HINCRBY', counts, old, -1)
        redis.call('HINCRBY', counts, new, 1)
        redis.call('HINCRBY', pbx_counts, pbx .. '|' .. old, -1)
        redis.call('HINCRBY', pbx_counts, pbx .. '|' .. new, 1)
    end
    if final[new] then
        redis.call('DEL', lock)
        if old ~= new and nothing_open(counts) then redis.pcall('PUBLISH', counts, 'final') end
    end
    return {1, old}
end
