return { ruleset = "ruleset.lua" }
