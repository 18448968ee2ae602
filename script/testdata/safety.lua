-- callbacks that misbehave on purpose
local ruleset = {}

local function recurse(...)
	recurse(1, ...)
end

function ruleset.resolve(addr)
	local host = neosocksd.splithostport(addr)
	if host == "loop.test" then
		while true do end
	elseif host == "pcallloop.test" then
		while true do
			pcall(function() while true do end end)
		end
	elseif host == "alloc.test" then
		local t = {}
		while true do t[#t + 1] = {} end
	elseif host == "vararg.test" then
		recurse()
	elseif host == "pcallvararg.test" then
		local ok, err = pcall(recurse)
		assert(not ok)
		return nil
	elseif host == "xpcallvararg.test" then
		local ok, err = xpcall(recurse, neosocksd.traceback)
		assert(not ok)
		return nil
	elseif host == "rep.test" then
		local s = string.rep("x", 2^33)
		return s
	elseif host == "sortyield.test" then
		local t = { 3, 1, 2 }
		table.sort(t, function(a, b) await.sleep(0) return a < b end)
	elseif host == "metayield.test" then
		local t = setmetatable({}, { __index = function() coroutine.yield() return 1 end })
		return t.x
	end
	return "127.0.0.1:" .. (addr:match(":(%d+)$"))
end

return ruleset
