package stdlib

import (
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/neosocksd-go/neosocksd/core/addr"
	lua "github.com/yuin/gopher-lua"
)

// NativeModule is the name under which Open preloads the Go helpers of
// libruleset.lua (see OpenNative).
const NativeModule = "libruleset.native"

// registryKey holds the per-state *nativeState in the Lua registry.
const registryKey = "neosocksd.stdlib.native"

// EventKind says what an Event records.
type EventKind uint8

// Event kinds.
const (
	EventMessage  EventKind = iota // evlog/evlogf from Lua
	EventRule                      // a tagged rule of a routing table fired
	EventAuthFail                  // ruleset authentication rejected a user
)

// Event is one message recorded into recent_events by libruleset.
type Event struct {
	Kind EventKind
	Msg  string // the message as recorded, e.g. `[lan] "host.lan:80"`
	Tag  string // EventRule: the rule's tag (tostring of it)
	Addr string // EventRule: the address the rule saw
	User string // EventAuthFail: the user name, "nil" when none was given
}

// nativeState is the Go side of one Lua state's libruleset natives.
type nativeState struct {
	sink func(Event)
}

// stateOf returns the nativeState of L, creating it on first use.
func stateOf(L *lua.LState) *nativeState {
	reg := L.Get(lua.RegistryIndex).(*lua.LTable)
	if ud, ok := reg.RawGetString(registryKey).(*lua.LUserData); ok {
		if s, ok := ud.Value.(*nativeState); ok {
			return s
		}
	}
	s := &nativeState{}
	ud := L.NewUserData()
	ud.Value = s
	reg.RawSetString(registryKey, ud)
	return s
}

// SetEventSink makes every event libruleset records in L (evlog, evlogf,
// tagged rule hits, authentication failures) also go to sink, in order and
// whatever the log level. A nil sink removes it. It must be called from the
// goroutine that owns L.
func SetEventSink(L *lua.LState, sink func(Event)) {
	stateOf(L).sink = sink
}

// OpenNative returns the "libruleset.native" module table: the helpers that
// libruleset.lua would otherwise write with Lua 5.3 integers and bit
// operators, the indexed matchers for big lists, and the logging functions.
//
//	split(addr) -> host, port        neosocksd.splithostport rules
//	join(host, port) -> addr         brackets hosts containing ':' (P1)
//	lower(s) -> s                    ASCII only
//	quote(v) -> s                    string.format("%q", v) of Lua 5.4
//	parse_ipv4(s), parse_ipv6(s)     as OpenAddr
//	parse_cidr(s) -> n, bits         parse_cidr6(s) -> hi, lo, bits
//	exact(s|list), host(s|list), domain(list), domain1(s),
//	subnet(s|list), subnet6(s|list) -> matcher function
//	log(...), logf(fmt, ...), evlog(...), evlogf(fmt, ...)
//	ruleevent(tag, addr), authfail(user)
//	format_timestamp(t) -> s, now() -> integer seconds
//	unmarshal(s) -> true, values... | false   (see Unmarshal)
func OpenNative(L *lua.LState) *lua.LTable {
	s := stateOf(L)
	t := L.NewTable()
	L.SetFuncs(t, map[string]lua.LGFunction{
		"split":            luaSplitHostPort,
		"join":             nativeJoin,
		"lower":            nativeLower,
		"quote":            nativeQuote,
		"parse_ipv4":       luaParseIPv4,
		"parse_ipv6":       luaParseIPv6,
		"parse_cidr":       nativeParseCIDR,
		"parse_cidr6":      nativeParseCIDR6,
		"exact":            newExactMatcher,
		"host":             newHostMatcher,
		"domain":           newDomainMatcher,
		"domain1":          newDomain1Matcher,
		"subnet":           newSubnetMatcher,
		"subnet6":          newSubnet6Matcher,
		"format_timestamp": nativeFormatTimestamp,
		"unmarshal":        nativeUnmarshal,
		"now": func(L *lua.LState) int {
			L.Push(lua.LNumber(time.Now().Unix()))
			return 1
		},
		"log":       s.log,
		"logf":      s.logf,
		"evlog":     s.evlog,
		"evlogf":    s.evlogf,
		"ruleevent": s.ruleEvent,
		"authfail":  s.authFail,
	})
	return t
}

func nativeJoin(L *lua.LState) int {
	L.Push(lua.LString(addr.Join(L.CheckString(1), L.CheckString(2))))
	return 1
}

func nativeLower(L *lua.LState) int {
	L.Push(lua.LString(addr.Lower(L.CheckString(1))))
	return 1
}

func nativeQuote(L *lua.LState) int {
	L.Push(lua.LString(appendQuote54(nil, L.CheckAny(1))))
	return 1
}

// appendQuote54 formats v like Lua 5.4's string.format("%q", v). Numbers
// follow the float64 convention of this package (integral values as
// integers); values without a literal form print as tostring would.
func appendQuote54(b []byte, v lua.LValue) []byte {
	switch v := v.(type) {
	case lua.LString:
		s := string(v)
		b = append(b, '"')
		for i := 0; i < len(s); i++ {
			c := s[i]
			switch {
			case c == '"' || c == '\\' || c == '\n':
				b = append(b, '\\', c)
			case c < 0x20 || c == 0x7f:
				if i+1 < len(s) && s[i+1] >= '0' && s[i+1] <= '9' {
					b = append(b, '\\', '0'+c/100, '0'+c/10%10, '0'+c%10)
				} else {
					b = append(b, '\\')
					b = strconv.AppendInt(b, int64(c), 10)
				}
			default:
				b = append(b, c)
			}
		}
		return append(b, '"')
	case lua.LNumber:
		f := float64(v)
		switch {
		case f != f:
			return append(b, "(0/0)"...)
		case math.IsInf(f, 1):
			return append(b, "1e9999"...)
		case math.IsInf(f, -1):
			return append(b, "-1e9999"...)
		case f == math.Trunc(f) && math.Abs(f) < 1<<63:
			return strconv.AppendInt(b, int64(f), 10)
		}
		return appendHexFloat(b, f)
	}
	return append(b, v.String()...)
}

// luaString converts argument n with Lua's tostring rules, metamethods
// included.
func luaString(L *lua.LState, v lua.LValue) string {
	if s, ok := v.(lua.LString); ok {
		return string(s)
	}
	return L.ToStringMeta(v).String()
}

func nativeFormatTimestamp(L *lua.LState) int {
	t := float64(L.CheckNumber(1))
	L.Push(lua.LString(formatTimestamp(t)))
	return 1
}

// formatTimestamp renders t (seconds since the epoch) as local RFC 3339,
// os.date("%FT%T%z") with the offset written +hh:mm.
func formatTimestamp(t float64) string {
	return time.Unix(int64(math.Floor(t)), 0).Format("2006-01-02T15:04:05-07:00")
}

// loglevel returns _G.config.loglevel, or 0 when unset.
func loglevel(L *lua.LState) float64 {
	c, ok := L.GetGlobal("config").(*lua.LTable)
	if !ok {
		return 0
	}
	n, _ := L.GetField(c, "loglevel").(lua.LNumber)
	return float64(n)
}

// verbose reports whether debug messages are printed (loglevel >= 6).
func verbose(L *lua.LState) bool { return loglevel(L) >= 6 }

// where returns "file:line" of the Lua function that called the native.
func where(L *lua.LState) string {
	dbg, ok := L.GetStack(1)
	if !ok {
		return "?:0"
	}
	if _, err := L.GetInfo("Sl", dbg, lua.LNil); err != nil {
		return "?:0"
	}
	src := dbg.Source
	if src == "" {
		src = "?"
	}
	switch {
	case src[0] == '@':
		src = src[1:]
		src = src[strings.LastIndexByte(src, '/')+1:]
	case src[0] == '=':
		src = src[1:]
	case !strings.ContainsAny(src, "\n<"):
		src = src[strings.LastIndexByte(src, '/')+1:]
	}
	return src + ":" + strconv.Itoa(dbg.CurrentLine)
}

// printLine prints "D <timestamp> <file>:<line> <msg>" through _G.print.
func printLine(L *lua.LState, msg string) {
	line := "D " + formatTimestamp(float64(time.Now().Unix())) + " " + where(L) + " " + msg
	L.CallByParam(lua.P{Fn: L.GetGlobal("print"), NRet: 0}, lua.LString(line))
}

// joinArgs joins tostring of every argument with a TAB, as print does.
func joinArgs(L *lua.LState) string {
	n := L.GetTop()
	if n == 1 {
		return luaString(L, L.Get(1))
	}
	var b strings.Builder
	for i := 1; i <= n; i++ {
		if i > 1 {
			b.WriteByte('\t')
		}
		b.WriteString(luaString(L, L.Get(i)))
	}
	return b.String()
}

// format calls the current string.format with all arguments.
func format(L *lua.LState) string {
	n := L.GetTop()
	fn := L.GetField(L.GetGlobal("string"), "format")
	L.Push(fn)
	for i := 1; i <= n; i++ {
		L.Push(L.Get(i))
	}
	L.Call(n, 1)
	v := L.Get(-1)
	L.Pop(1)
	return luaString(L, v)
}

func (s *nativeState) log(L *lua.LState) int {
	if verbose(L) {
		printLine(L, joinArgs(L))
	}
	return 0
}

func (s *nativeState) logf(L *lua.LState) int {
	if verbose(L) {
		printLine(L, format(L))
	}
	return 0
}

func (s *nativeState) evlog(L *lua.LState) int {
	s.record(L, Event{Kind: EventMessage, Msg: joinArgs(L)})
	return 0
}

func (s *nativeState) evlogf(L *lua.LState) int {
	s.record(L, Event{Kind: EventMessage, Msg: format(L)})
	return 0
}

// ruleEvent records `[tag] "addr"` for a tagged rule hit; it is
// evlogf("[%s] %q", tag, addr) without the trip through string.format.
func (s *nativeState) ruleEvent(L *lua.LState) int {
	tag := luaString(L, L.CheckAny(1))
	a := L.CheckAny(2)
	b := make([]byte, 0, len(tag)+32)
	b = append(b, '[')
	b = append(b, tag...)
	b = append(b, "] "...)
	b = appendQuote54(b, a)
	s.record(L, Event{Kind: EventRule, Msg: string(b), Tag: tag, Addr: luaString(L, a)})
	return 0
}

// authFail records evlogf("authenticate failed: %q", user).
func (s *nativeState) authFail(L *lua.LState) int {
	u := L.Get(1)
	msg := string(appendQuote54([]byte("authenticate failed: "), u))
	s.record(L, Event{Kind: EventAuthFail, Msg: msg, User: luaString(L, u)})
	return 0
}

// record prints ev at loglevel >= 6, adds it to _G.recent_events (an rlist
// of {msg, count, tstamp}; a repeat of the newest message bumps its count
// and time) and hands it to the sink.
func (s *nativeState) record(L *lua.LState, ev Event) {
	if verbose(L) {
		printLine(L, ev.Msg)
	}
	if rl, ok := L.GetGlobal("recent_events").(*lua.LTable); ok {
		pushEvent(L, rl, ev.Msg)
	}
	if s.sink != nil {
		s.sink(ev)
	}
}

// pushEvent updates the ring buffer rl with the layout of libruleset's
// rlist: fields pos (slot of the newest item), len and cap, items at
// integer keys 1..cap.
func pushEvent(L *lua.LState, rl *lua.LTable, msg string) {
	now := lua.LNumber(time.Now().Unix())
	pos, _ := rl.RawGetString("pos").(lua.LNumber)
	n, _ := rl.RawGetString("len").(lua.LNumber)
	capacity, _ := rl.RawGetString("cap").(lua.LNumber)
	if capacity < 1 {
		return
	}
	if n > 0 {
		if last, ok := rl.RawGetInt(int(pos)).(*lua.LTable); ok {
			if m, ok := last.RawGetInt(1).(lua.LString); ok && string(m) == msg {
				count, _ := last.RawGetInt(2).(lua.LNumber)
				last.RawSetInt(2, count+1)
				last.RawSetInt(3, now)
				return
			}
		}
	}
	item := L.CreateTable(3, 0)
	item.RawSetInt(1, lua.LString(msg))
	item.RawSetInt(2, lua.LNumber(1))
	item.RawSetInt(3, now)
	pos = lua.LNumber(int(pos)%int(capacity) + 1)
	rl.RawSetInt(int(pos), item)
	rl.RawSetString("pos", pos)
	if n < capacity {
		rl.RawSetString("len", n+1)
	}
}
