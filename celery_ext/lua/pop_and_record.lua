local popped = {}
local list = 3
while #popped < tonumber(ARGV[1]) and list <= #KEYS do
    local raw = redis.call('RPOP', KEYS[list])
    if not raw then
        list = list + 1
    else
        local ok, message = pcall(cjson.decode, raw)
        local props = ok and type(message) == 'table' and message['properties']
        local tag = type(props) == 'table' and props['delivery_tag']
        local info = type(props) == 'table' and props['delivery_info']
        if type(tag) ~= 'string' or type(info) ~= 'table' then
            redis.call('RPUSH', KEYS[list], raw)
            break
        end
        redis.call('ZADD', KEYS[1], ARGV[2], tag)
        redis.call('HSET', KEYS[2], tag, '[' .. raw .. ',' .. cjson.encode(info['exchange'])
            .. ',' .. cjson.encode(info['routing_key']) .. ']')
        popped[#popped + 1] = raw
    end
end
return popped
