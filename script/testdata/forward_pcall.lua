-- forward.lua with the await inside a protected call: the routine's yield
-- passes through pcall's body thread
local ruleset = {}
local function forward(addr)
    local ok, r = pcall(await.forward, addr)
    if not ok then error(r, 0) end
    return r
end
ruleset.resolve, ruleset.route, ruleset.route6 = forward, forward, forward
return ruleset
