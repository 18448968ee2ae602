_G.ruleset = { resolve = function(addr) return addr end }
return { max_sessions = 100 }
