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
	elseif host == "rpcdead.test" then
		local ok, err = await.invoke("return 1", _G.DEAD)
		_G.dead_error = err
		return nil
	end
	return nil
end
return ruleset
