-- config.lua: a boot configuration for -c. Its keys are the long options
-- of the command line (see neosocksd --dump-config for all of them); a key
-- given here overrides the command line, a key left out keeps it.
-- A misspelt key is ignored with a warning; check a file before deploying:
--
--   neosocksd -c config.lua --check
--   neosocksd -c config.lua --dump-config     # what the file sets
--
-- SIGHUP runs this file again: the ruleset and most settings change
-- without a restart (listen addresses need one).

-- require finds modules in this file's directory too.
local ruleset = require("full")

return {
    listen = "127.0.0.1:1080",
    http_listen = "127.0.0.1:8080",
    restapi = "127.0.0.1:9080",
    loglevel = 4,
    timeout = 30.0,
    max_sessions = 4096,
    startup_limit_start = 100,
    startup_limit_rate = 30,
    startup_limit_full = 1000,
    block_loopback = true,
    ruleset = ruleset,
}
