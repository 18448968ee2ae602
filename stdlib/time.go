package stdlib

import (
	"time"

	lua "github.com/yuin/gopher-lua"
	"golang.org/x/sys/unix"
)

// OpenTime returns a new time library table: monotonic, process, thread and
// unix clocks in float seconds, and measure(f, ...) -> cost, results....
// A clock that cannot be read gives -1.
func OpenTime(L *lua.LState) *lua.LTable {
	t := L.NewTable()
	L.SetFuncs(t, map[string]lua.LGFunction{
		"monotonic": clockFunc(unix.CLOCK_MONOTONIC),
		"process":   clockFunc(unix.CLOCK_PROCESS_CPUTIME_ID),
		"thread":    clockFunc(unix.CLOCK_THREAD_CPUTIME_ID),
		"unix": func(L *lua.LState) int {
			L.Push(lua.LNumber(float64(time.Now().UnixNano()) / 1e9))
			return 1
		},
		"measure": timeMeasure,
	})
	return t
}

func clock(id int32) float64 {
	var ts unix.Timespec
	if unix.ClockGettime(id, &ts) != nil {
		return -1
	}
	return float64(ts.Sec) + float64(ts.Nsec)/1e9
}

func clockFunc(id int32) lua.LGFunction {
	return func(L *lua.LState) int {
		L.Push(lua.LNumber(clock(id)))
		return 1
	}
}

func timeMeasure(L *lua.LState) int {
	L.CheckFunction(1)
	n := L.GetTop()
	base := n // results land above the arguments after the call
	L.Push(L.Get(1))
	for i := 2; i <= n; i++ {
		L.Push(L.Get(i))
	}
	start := clock(unix.CLOCK_MONOTONIC)
	L.Call(n-1, lua.MultRet)
	end := clock(unix.CLOCK_MONOTONIC)
	cost := end - start
	if start < 0 || end < 0 {
		cost = -1
	}
	nres := L.GetTop() - base
	L.Insert(lua.LNumber(cost), base+1)
	return nres + 1
}
