package stdlib

import (
	"sort"

	"github.com/neosocksd-go/neosocksd/stdlib/lua54"
	lua "github.com/yuin/gopher-lua"
)

// table.sort on the execution budget: gopher-lua's sorts in Go without a
// pause, and with the default order two million numbers took 4 s inside
// one call. This one sorts the same way (Go's sort, the values 1..#t,
// Lua 5.4's < by default, boxed integers included) and polls the budget
// between comparisons; a comparison function, being Lua, is bounded by the
// VM itself.

// openSort installs table.sort.
func openSort(L *lua.LState) {
	if t, ok := L.G.Global.RawGetString("table").(*lua.LTable); ok {
		t.RawSetString("sort", L.NewFunction(tableSort))
	}
}

func tableSort(L *lua.LState) int {
	t := L.CheckTable(1)
	s := &luaSorter{L: L, poll: pollOf(L)}
	if L.GetTop() >= 2 && L.Get(2) != lua.LNil {
		s.less = L.CheckFunction(2)
	}
	n := t.Len()
	s.vals = make([]lua.LValue, n)
	for i := range s.vals {
		if s.poll.tick() {
			raiseBudget(L)
		}
		s.vals[i] = t.RawGetInt(i + 1)
	}
	sort.Sort(s)
	for i, v := range s.vals {
		t.RawSetInt(i+1, v)
	}
	return 0
}

// luaSorter orders Lua values with "<" or a Lua function; a raised error
// (the budget's included) unwinds through sort.Sort, which holds nothing.
type luaSorter struct {
	L    *lua.LState
	less *lua.LFunction // nil: the "<" operator
	vals []lua.LValue
	poll budgetPoll
}

func (s *luaSorter) Len() int      { return len(s.vals) }
func (s *luaSorter) Swap(i, j int) { s.vals[i], s.vals[j] = s.vals[j], s.vals[i] }

func (s *luaSorter) Less(i, j int) bool {
	if s.poll.tick() {
		raiseBudget(s.L)
	}
	if s.less == nil {
		return lua54.LessThan(s.L, s.vals[i], s.vals[j]) // boxed integers too
	}
	s.L.Push(s.less)
	s.L.Push(s.vals[i])
	s.L.Push(s.vals[j])
	s.L.Call(2, 1)
	r := s.L.Get(-1)
	s.L.Pop(1)
	return lua.LVAsBool(r)
}
