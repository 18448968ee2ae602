-- RPC between two engines: _G.PEER is the other engine's API address
_G.rpc = _G.rpc or {}
function rpc.echo(...)
	return ...
end
function rpc.fail()
	error("remote failure")
end

local ruleset = {}
function ruleset.resolve(addr)
	local host = neosocksd.splithostport(addr)
	if host == "rpc.test" then
		local ok, f = await.invoke(string.format("return rpc[%q](%s)", "echo", marshal("127.0.0.1", 4242)), _G.PEER)
		if not ok then error("invoke: " .. tostring(f)) end
		local ok2, h, p = f()
		assert(ok2 == true)
		return h .. ":" .. tostring(p)
	elseif host == "rpcfail.test" then
		local ok, err = await.invoke("return rpc.fail()", _G.PEER)
		_G.rpc_error = err
		return nil
	elseif host == "rpcbig.test" then
		local big = string.rep("z", 5000)
		local ok, f = await.invoke(string.format("return rpc.echo(%q)", big), _G.PEER)
		local _, s = f()
		assert(s == big, "big payload mangled")
		return "127.0.0.1:1"
	elseif host == "rpcint.test" then
		-- 64-bit integers cross the wire exactly, both ways
		local hi, lo = neosocksd.parse_ipv6("fe80::1")
		local args = marshal(math.maxinteger, math.mininteger, hi, lo, (1 << 53) + 1)
		local ok, f = await.invoke(string.format("return rpc[%q](%s)", "echo", args), _G.PEER)
		if not ok then error("invoke: " .. tostring(f)) end
		local r = { f() }
		assert(r[1] == true, "rpc failed")
		assert(r[2] == math.maxinteger and r[3] == math.mininteger, "limits mangled")
		assert(r[4] == 0xfe80000000000000 and r[5] == 1, "parse_ipv6 halves mangled")
		assert(r[6] == 9007199254740993 and math.type(r[6]) == "integer", "2^53 + 1 mangled")
		return "127.0.0.1:2"
	elseif host == "rpcdead.test" then
		local ok, err = await.invoke("return 1", _G.DEAD)
		_G.dead_error = err
		return nil
	end
	return nil
end
return ruleset
