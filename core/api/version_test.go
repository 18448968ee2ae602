package api

import "runtime"

func runtimeVersion() string { return runtime.Version() }
