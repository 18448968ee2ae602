package main

import "os"

// eventLoopEnv names the environment variable that, set to "0", keeps
// every connection on the goroutine path (server.Options.NoEventLoop):
// an escape hatch should the event loop misbehave somewhere, without
// going back to an older build. Any other value, or none, leaves the
// loop on where the system has it (Linux).
const eventLoopEnv = "NEOSOCKSD_EVENT_LOOP"

func eventLoopOff() bool { return os.Getenv(eventLoopEnv) == "0" }
