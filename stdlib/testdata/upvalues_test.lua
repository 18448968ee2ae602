-- Closures and the frames that are still running keep sharing their
-- locals across an error caught by pcall or xpcall, and a closure that
-- escapes a frame unwound by an error keeps the value it saw. Pure Lua:
-- runs on gopher-lua under `go test` and on Lua 5.4.
local H = dofile("testdata/harness.lua")

-- every expectation is checked and all failures are reported together
local failures = {}
local function eq(got, want, msg)
    H.count = H.count + 1
    if got ~= want then
        failures[#failures + 1] = string.format("%s: got %s, want %s", msg, tostring(got), tostring(want))
    end
end

local function fail()
    error("boom")
end

local catchers = {
    {
        "pcall",
        function(f)
            return pcall(f)
        end,
    },
    {
        "xpcall",
        function(f)
            return xpcall(f, function(e)
                return e
            end)
        end,
    },
}

for _, c in ipairs(catchers) do
    local name, catch = c[1], c[2]
    -- a local of the running frame, captured before the error
    local x = 1
    local function get()
        return x
    end
    local function set(v)
        x = v
    end
    eq(catch(fail), false, name .. " catches")
    x = 2
    eq(get(), 2, name .. ": closure sees the frame's write after a caught error")
    set(3)
    eq(x, 3, name .. ": frame sees the closure's write after a caught error")

    -- the same with a runtime error and with an error in a nested frame
    local n = 0
    local function inc()
        n = n + 1
    end
    catch(function()
        local t = nil
        return t.field
    end)
    inc()
    catch(function()
        catch(fail)
        fail()
    end)
    inc()
    eq(n, 2, name .. ": counter shared after runtime and nested errors")

    -- a closure escaping the unwound frame keeps its own value
    local escaped
    catch(function()
        local secret = "mine"
        escaped = function()
            return secret
        end
        fail()
    end)
    local function clobber()
        local a, b, c, d, e = "x1", "x2", "x3", "x4", "x5"
        return a, b, c, d, e
    end
    clobber()
    eq(escaped(), "mine", name .. ": escaped closure keeps its value")

    -- inside a coroutine
    local co = coroutine.wrap(function()
        local y = 1
        local function gety()
            return y
        end
        catch(fail)
        y = 2
        coroutine.yield(gety())
    end)
    eq(co(), 2, name .. ": closure shares a local after a caught error in a coroutine")
end

if #failures > 0 then
    error(table.concat(failures, "\n"), 0)
end
return H.count
