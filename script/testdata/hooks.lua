-- every hook, with switches to make each of them fail
_G.mode = _G.mode or {}
_G.ticks = _G.ticks or 0
local ruleset = {}
function ruleset.resolve(addr)
	if mode.resolve == "raise" then error("resolve failed") end
	return addr
end
function ruleset.route(addr)
	if mode.route == "raise" then error("route failed") end
	return addr
end
function ruleset.route6(addr)
	if mode.route6 == "raise" then error("route6 failed") end
	return addr
end
function ruleset.tick()
	_G.ticks = _G.ticks + 1
	if mode.tick == "raise" then error("tick failed") end
end
function ruleset.stats(dt, q)
	if mode.stats == "raise" then error("stats failed") end
	if mode.stats == "table" then return {} end
	return string.format("dt=%s q=%s", type(dt), tostring(q))
end
function ruleset.metrics()
	if mode.metrics == "raise" then error("metrics failed") end
	return "# TYPE lua_test gauge\nlua_test 1\n"
end
function ruleset.healthy()
	if mode.healthy == "raise" then error("healthy failed") end
	if mode.healthy == "sick" then return "sick" end
	return nil
end
return ruleset
