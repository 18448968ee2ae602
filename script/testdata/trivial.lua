local ruleset = {}
function ruleset.resolve(addr) return addr end
ruleset.route = ruleset.resolve
ruleset.route6 = ruleset.resolve
return ruleset
