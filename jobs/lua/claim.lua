--! uses: transition
if not redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return false end
local item = redis.call('HGETALL', KEYS[2])
local f = {}
for i = 1, #item, 2 do f[item[i]] = item[i + 1] end
local pbx = f['pbx'] or ''
local entry = redis.call('HGET', KEYS[3], pbx)
-- The job's circuit for the entry's device: its field is the SHA-1 of the base URL.
local circuit = false
if entry then
    local ok, decoded = pcall(cjson.decode, entry)
    if ok and type(decoded) == 'table' and type(decoded['base_url']) == 'string' then
        circuit = redis.call('HGET', KEYS[4], redis.sha1hex(decoded['base_url']))
    end
end
local sendable = {queued=true, retrying=true, running=true}
local attempts = tonumber(f['attempts'] or '0') - tonumber(f['attempts_at_retry'] or '0')
if entry and not circuit and sendable[f['state']] and f['maybe_sent'] ~= '1'
        and f['taken_before'] ~= '1' and attempts < tonumber(ARGV[3]) then
    local fields = {'updated_at', ARGV[5]}
    if (f['first_try_at'] or '') == '' then
        fields[3] = 'first_try_at'
        fields[4] = ARGV[4]
    end
    transition(KEYS[2], KEYS[5], KEYS[6], KEYS[1], 'advance', 'running', 0, fields)
end
return {item, entry, circuit}
