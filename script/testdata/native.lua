-- callbacks that spend their time inside native functions
local ruleset = {}

local function stuck() -- backtracks about 3000^12 times
	return string.rep("a", 3000), string.rep("a-", 12) .. "b"
end

-- incompressible: random blocks longer than the deflate window
local function noise(n)
	local t = {}
	for i = 1, 40000 do t[i] = string.char(math.random(0, 255)) end
	return string.rep(table.concat(t), n)
end

local work = {
	find = function() return string.find(stuck()) end,
	match = function() return string.match(stuck()) end,
	gmatch = function()
		for _ in string.gmatch(stuck()) do end
	end,
	gsub = function() return string.gsub(string.rep("a", 3000), string.rep("a-", 12) .. "b", "") end,
	gsubmany = function() -- 625 KB, 40 000 matches
		local s, n = string.gsub(string.rep("abcdefghijklmno.", 40000), "%.", "/")
		assert(n == 40000 and #s == 640000 and not s:find(".", 1, true))
	end,
	regex = function() -- linear, but a minute of work
		return regex.find(regex.compile("[ab]{0,1000}c"), string.rep("a", 2^20))
	end,
	sort = function() -- _G.big, filled by earlier entries
		table.sort(_G.big)
	end,
	marshal = function() -- 2^40 leaves through shared subtables
		local t = {}
		for i = 1, 40 do t = { t, t } end
		return marshal(t)
	end,
	compress = function() return zlib.compress(noise(1600)) end,
	gzip = function() return zlib.gzip(noise(1600)) end,
	gunzip = function() -- 10 GiB of zeros in 10 000 members
		return zlib.gunzip(string.rep(zlib.gzip(string.rep("\0", 2^20)), 10000))
	end,
}

function ruleset.resolve(addr)
	local host, port = neosocksd.splithostport(addr)
	local f = work[host:match("^(%w+)%.test$")]
	if f then
		f()
	end
	return "127.0.0.1:" .. port
end

return ruleset
