-- Whether a job's counts hash holds nothing open: no item queued, running or retrying, and its
-- submit done ('submitting' is 1 while it stores and queues). The same states as jobs/states.py
-- (tests/unit/test_lua_scripts.py holds the two side by side).
local function nothing_open(counts)
    for _, n in ipairs(redis.call('HMGET', counts, 'queued', 'running', 'retrying', 'submitting')) do
        if (tonumber(n) or 0) > 0 then return false end
    end
    return true
end
