-- Assertion helpers shared by the Lua test files. They run under the
-- gopher-lua host of `go test` and, where noted, under Lua 5.4.
local H = {}
H.count = 0

local function show(v, depth)
    if type(v) == "string" then
        return '"' .. v:gsub('[%c"\\]', function(c)
            return string.format("\\%03d", c:byte())
        end) .. '"'
    end
    if type(v) == "table" and (depth or 0) < 3 then
        local keys = {}
        for k in pairs(v) do
            keys[#keys + 1] = k
        end
        table.sort(keys, function(a, b)
            return tostring(a) < tostring(b)
        end)
        local parts = {}
        for _, k in ipairs(keys) do
            parts[#parts + 1] = "[" .. show(k, 3) .. "]=" .. show(v[k], (depth or 0) + 1)
        end
        return "{" .. table.concat(parts, ",") .. "}"
    end
    return tostring(v)
end

function H.deq(a, b)
    if a == b then
        return true
    end
    if type(a) ~= "table" or type(b) ~= "table" then
        return a ~= a and b ~= b -- NaN
    end
    for k, v in pairs(a) do
        if not H.deq(v, b[k]) then
            return false
        end
    end
    for k in pairs(b) do
        if a[k] == nil then
            return false
        end
    end
    return true
end

-- eq(got, want [, msg]): deep equality
function H.eq(got, want, msg)
    H.count = H.count + 1
    if not H.deq(got, want) then
        error(string.format("%s: got %s, want %s", msg or "eq", show(got), show(want)), 2)
    end
end

-- ok(cond [, msg])
function H.ok(cond, msg)
    H.count = H.count + 1
    if not cond then
        error((msg or "assertion failed"), 2)
    end
end

-- pack / list: compare multiple results as a table with n
function H.pack(...)
    return { n = select("#", ...), ... }
end

-- raises(substring, f, ...): f(...) must raise an error containing substring
function H.raises(sub, f, ...)
    H.count = H.count + 1
    local ok, err = pcall(f, ...)
    if ok then
        error("expected an error containing " .. show(sub), 2)
    end
    if not string.find(tostring(err), sub, 1, true) then
        error(string.format("error %s does not contain %s", show(tostring(err)), show(sub)), 2)
    end
end

return H
