package script

// The scheduler's configuration of stdlib's host layer. pcall, xpcall and
// coroutine.running, isyieldable and yield are stdlib's (the same code the
// conformance suite runs); the VM supplies what differs for a daemon:
// bodies of protected calls run in threads of the routine pool and count
// as routines in flight, xpcall's handler is skipped once the execution
// budget has run out, and print writes to Options.Stdout.

import (
	"github.com/neosocksd-go/neosocksd/stdlib"
	lua "github.com/yuin/gopher-lua"
)

// host returns the VM's stdlib.Host.
func (v *vm) host() stdlib.Host {
	return stdlib.Host{
		Stdout: v.e.stdout,
		Acquire: func() *lua.LState {
			v.e.routineStarted()
			return v.acquire()
		},
		Release: func(th *lua.LState, reusable bool) {
			v.e.routineEnded()
			if reusable {
				v.release(th)
			}
		},
		Aborted: v.budgetBlown,
	}
}
