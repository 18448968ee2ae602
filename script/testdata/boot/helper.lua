local M = {}
function M.target(addr)
	return "127.0.0.1:" .. addr:match(":(%d+)$")
end
return M
