-- wrk script: one P2P transfer per request, with the sender's JWT and a fresh Idempotency-Key.
-- wrk ... -s bench/wrk/transfer.lua URL -- <users.tsv> <shape> <requests per thread> <run tag> [rest|graphql]
-- users.tsv: "username<TAB>access token<TAB>wallet UUID" per line; wallet i belongs to line i.
-- graphql: the same transfer through the GraphQL transfer mutation (200 + data is counted as "201").
-- Shapes match bench/drivers.py: uniform, hot (80% between the first ten), opposite (50 pairs).
-- Prints one line "WRK_JSON {...}" with latency percentiles and response counts by status/code.

local threads = {}
local users, tokens, wallets = {}, {}, {}
local shape, budget, tag, api = "uniform", 0, "run", "rest"
local counter, responses = 0, 0
counts = {}

function setup(thread)
    table.insert(threads, thread)
    thread:set("thread_no", #threads)
end

function init(args)
    for line in io.lines(args[1]) do
        local name, token, wallet = line:match("^(%S+)\t(%S+)\t(%S+)$")
        if name then
            users[#users + 1] = name
            tokens[#tokens + 1] = token
            wallets[#wallets + 1] = wallet
        end
    end
    shape = args[2] or "uniform"
    budget = tonumber(args[3]) or 0
    tag = (args[4] or "run") .. "-" .. thread_no .. "-"
    api = args[5] or "rest"
    math.randomseed(os.time() + 7919 * thread_no)
end

local function pick()
    local n = #users
    if shape == "hot" and math.random() < 0.8 then
        local s = math.random(1, 10)
        return s, (s - 1 + math.random(1, 9)) % 10 + 1
    elseif shape == "opposite" then
        local pair, flip = math.random(0, 49), math.random(0, 1)
        return 2 * pair + 1 + flip, 2 * pair + 2 - flip
    end
    local s = math.random(1, n)
    return s, (s - 1 + math.random(1, n - 1)) % n + 1
end

function request()
    counter = counter + 1
    local s, d = pick()
    local path, body = "/api/v1/transactions/transfer/", '{"recipient":"' .. users[d] .. '","currency":"USD","amount":"1.00"}'
    if api == "graphql" then
        path = "/graphql/"
        body = '{"query":"mutation T($w: String!, $r: String!) { transfer(fromWalletId: $w, '
            .. 'input: {amount: \\"1.00\\", recipient: $r}) { id } }","variables":{"w":"' .. wallets[s]
            .. '","r":"' .. users[d] .. '"}}'
    end
    local headers = {
        ["Authorization"] = "Bearer " .. tokens[s],
        ["Content-Type"] = "application/json",
        ["Idempotency-Key"] = tag .. counter,
        ["X-Forwarded-Proto"] = "https",
    }
    return wrk.format("POST", path, headers, body)
end

function response(status, headers, body)
    local label = tostring(status)
    if api == "graphql" and status == 200 then
        local code = body and body:match('"errors".-"code":%s*"([%w_]+)"')
        label = code and ("200 " .. code) or (body and body:find('"errors"') and "200 error" or "201")
    elseif status >= 400 then
        local code = body and body:match('"code":%s*"([%w_]+)"')
        if code then label = label .. " " .. code end
    end
    counts[label] = (counts[label] or 0) + 1
    responses = responses + 1
    if budget > 0 and responses >= budget then
        wrk.thread:stop()
    end
end

function done(summary, latency, requests)
    local total = {}
    for _, thread in ipairs(threads) do
        local c = thread:get("counts")
        if c then
            for label, n in pairs(c) do total[label] = (total[label] or 0) + n end
        end
    end
    local parts = {}
    for label, n in pairs(total) do parts[#parts + 1] = string.format('"%s": %d', label, n) end
    local e = summary.errors
    io.write(string.format(
        'WRK_JSON {"duration_us": %d, "requests": %d, "p50_us": %d, "p95_us": %d, "p99_us": %d, "mean_us": %f, '
            .. '"socket_errors": {"connect": %d, "read": %d, "write": %d, "timeout": %d}, "counts": {%s}}\n',
        summary.duration, summary.requests, latency:percentile(50), latency:percentile(95), latency:percentile(99),
        latency.mean, e.connect, e.read, e.write, e.timeout, table.concat(parts, ", ")))
end
