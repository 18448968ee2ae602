-- every request is forwarded actively, the way libruleset routes: the
-- routine awaits the dial and commits the connection
local ruleset = {}
function ruleset.resolve(addr) return await.forward(addr) end
function ruleset.route(addr) return await.forward(addr) end
function ruleset.route6(addr) return await.forward(addr) end
return ruleset
