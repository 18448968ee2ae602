-- a table-driven ruleset: exact hosts, domain suffixes, then a default
local hosts = {}
for i = 1, 1000 do
	hosts["host" .. i .. ".example"] = "10.0." .. (i // 256) .. "." .. (i % 256)
end
local suffixes = { ".internal", ".lan", ".corp.example" }
local proxy = "socks5://127.0.0.1:1080"
local ruleset = {}
function ruleset.resolve(addr)
	local host, port = neosocksd.splithostport(addr)
	host = host:lower()
	local mapped = hosts[host]
	if mapped then
		return mapped .. ":" .. port
	end
	for _, s in ipairs(suffixes) do
		if host:sub(-#s) == s then
			return addr, proxy
		end
	end
	if host:find("^ads%.") then
		return nil
	end
	return addr
end
function ruleset.route(addr)
	return addr
end
ruleset.route6 = ruleset.route
return ruleset
