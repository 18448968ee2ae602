package stdlib

import (
	"bytes"
	"compress/gzip"
	"hash/crc32"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/neosocksd-go/neosocksd/core/addr"
	"github.com/neosocksd-go/neosocksd/stdlib/lua54"
	lua "github.com/yuin/gopher-lua"
)

// naiveDomainMatch is the label-tree definition of match.domain{...}.
func naiveDomainMatch(list []string, host string) bool {
	labels := func(s string) []string {
		var out []string
		for _, l := range strings.Split(addr.Lower(s), ".") {
			if l != "" {
				out = append(out, l)
			}
		}
		return out
	}
	h := labels(host)
	for _, d := range list {
		dl := labels(d)
		if len(dl) == 0 || len(dl) > len(h) {
			continue
		}
		if strings.Join(h[len(h)-len(dl):], ".") == strings.Join(dl, ".") {
			return true
		}
	}
	return false
}

func TestDomainSet(t *testing.T) {
	list := []string{"example.com", ".lan", "A.B.c", "..x..y..", "", "."}
	d := NewDomainSet(list)
	tests := []struct {
		host string
		want bool
	}{
		{"example.com", true},
		{"www.Example.COM", true},
		{"example.com.", true},
		{"a..example.com", true},
		{".example.com", true},
		{"com", false},
		{"xexample.com", false},
		{"host.lan", true},
		{"lan", true},
		{"b.c", false},
		{"z.a.b.c", true},
		{"x.y", true},
		{"w.x.y.", true},
		{"", false},
		{"...", false},
	}
	for _, tc := range tests {
		t.Run(tc.host, func(t *testing.T) {
			if got := d.Match(tc.host); got != tc.want {
				t.Errorf("Match(%q) = %v, want %v", tc.host, got, tc.want)
			}
			if got := naiveDomainMatch(list, tc.host); got != tc.want {
				t.Errorf("naive(%q) = %v, want %v", tc.host, got, tc.want)
			}
		})
	}
	// random names over a small alphabet of labels against the definition
	r := rand.New(rand.NewPCG(1, 2))
	words := []string{"a", "B", "c", "", "ex"}
	name := func() string {
		n := r.IntN(4)
		parts := make([]string, n)
		for i := range parts {
			parts[i] = words[r.IntN(len(words))]
		}
		return strings.Join(parts, ".")
	}
	for i := 0; i < 200; i++ {
		var l []string
		for j := r.IntN(4); j > 0; j-- {
			l = append(l, name())
		}
		d := NewDomainSet(l)
		for k := 0; k < 20; k++ {
			h := name()
			if d.Match(h) != naiveDomainMatch(l, h) {
				t.Fatalf("list %q host %q: index %v, definition %v", l, h, d.Match(h), !d.Match(h))
			}
		}
	}
}

func TestRanges(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for round := 0; round < 100; round++ {
		var nets [][2]uint32
		var nets6 []Prefix6
		for j := r.IntN(6); j >= 0; j-- {
			bits := r.IntN(33)
			ip := r.Uint32() &^ uint32(uint64(1)<<(32-bits)-1)
			if r.IntN(4) == 0 {
				ip &= 0xff000000
			}
			nets = append(nets, [2]uint32{ip, uint32(bits)})
			b6 := r.IntN(129)
			mh, ml := mask6(b6)
			nets6 = append(nets6, Prefix6{r.Uint64() & mh & 0xffff0000ffffffff, r.Uint64() & ml, b6})
		}
		r4 := NewRanges4(nets)
		r6 := NewRanges6(nets6)
		for k := 0; k < 200; k++ {
			ip := r.Uint32()
			if k%3 == 0 { // probe the edges of a prefix
				n := nets[r.IntN(len(nets))]
				ip = n[0] + uint32(r.IntN(3)) - 1
				if r.IntN(2) == 0 {
					ip = n[0] | uint32(uint64(1)<<(32-n[1])-1) + uint32(r.IntN(3)) - 1
				}
			}
			want := false
			for _, n := range nets {
				if n[1] == 0 || ip>>(32-n[1]) == n[0]>>(32-n[1]) {
					want = true
				}
			}
			if r4.Contains(ip) != want {
				t.Fatalf("nets %v ip %#x: got %v", nets, ip, !want)
			}
			p := nets6[r.IntN(len(nets6))]
			hi, lo := p.Hi, p.Lo
			switch r.IntN(3) {
			case 0:
				hi, lo = r.Uint64(), r.Uint64()
			case 1:
				lo--
				if lo == ^uint64(0) {
					hi--
				}
			}
			want = false
			for _, n := range nets6 {
				mh, ml := mask6(n.Bits)
				if hi&mh == n.Hi && lo&ml == n.Lo {
					want = true
				}
			}
			if r6.Contains(hi, lo) != want {
				t.Fatalf("nets6 %v ip %x:%x: got %v", nets6, hi, lo, !want)
			}
		}
	}
}

func TestParseCIDR(t *testing.T) {
	tests := []struct {
		in   string
		ip   uint32
		bits int
		bad  string
	}{
		{"10.0.0.0/8", 0x0a000000, 8, ""},
		{"0.0.0.0/0", 0, 0, ""},
		{"1.2.3.4", 0x01020304, 32, ""},
		{"1.2.3.4/32", 0x01020304, 32, ""},
		{"1.2.3.4/30", 0x01020304, 30, ""},
		{"1.2.3.4/29", 0, 0, "subnet"},
		{"1.2.3.0/33", 0, 0, "prefix size"},
		{"1.2.3.0/", 0, 0, "prefix size"},
		{"1.2.3.0/-1", 0, 0, "prefix size"},
		{"1.2.3.0/0008", 0, 0, "prefix size"},
		{"01.2.3.0/24", 0, 0, "subnet"},
		{"::/0", 0, 0, "subnet"},
	}
	for _, tc := range tests {
		ip, bits, bad := ParseCIDR(tc.in)
		if ip != tc.ip || bits != tc.bits || bad != tc.bad {
			t.Errorf("ParseCIDR(%q) = %#x, %d, %q; want %#x, %d, %q", tc.in, ip, bits, bad, tc.ip, tc.bits, tc.bad)
		}
	}
	if hi, lo, bits, bad := ParseCIDR6("2001:db8::/32"); hi != 0x20010db800000000 || lo != 0 || bits != 32 || bad != "" {
		t.Errorf("ParseCIDR6: %x %x %d %q", hi, lo, bits, bad)
	}
	if _, _, _, bad := ParseCIDR6("::1/127"); bad != "subnet" {
		t.Errorf("ParseCIDR6 host bits: %q", bad)
	}
	if _, _, _, bad := ParseCIDR6("fe80::%eth0/64"); bad != "subnet" {
		t.Errorf("ParseCIDR6 zone: %q", bad)
	}
}

func TestOpenAddr(t *testing.T) {
	L := lua.NewState()
	defer L.Close()
	OpenCompat(L)
	L.SetGlobal("a", OpenAddr(L))
	fn, err := lua54.Load(L, []byte(`
		local h, p = a.splithostport("[::1]:443")
		assert(h == "::1" and p == "443", h)
		h, p = a.splithostport(":80")
		assert(h == "" and p == "80")
		local ok, err = pcall(a.splithostport, "::1:80")
		assert(not ok and err:find("invalid address: `+"`"+`::1:80'", 1, true), err)
		ok, err = pcall(a.splithostport, string.rep("a", 262))
		assert(not ok and err:find("address too long: 262 bytes", 1, true), err)
		assert(a.parse_ipv4("203.0.113.1") == 0xCB007101)
		assert(a.parse_ipv4("255.255.255.255") == 4294967295)
		assert(select("#", a.parse_ipv4("01.2.3.4")) == 0)
		assert(select("#", a.parse_ipv4({})) == 0)
		-- two 64-bit integers (high, low), as the original on Lua 5.4
		local hi, lo = a.parse_ipv6("fe80::1:2")
		assert(hi == 0xfe80000000000000 and lo == 0x10002, tostring(hi))
		assert(math.type(hi) == "integer" and hi < 0 and string.format("%x", hi) == "fe80000000000000")
		hi, lo = a.parse_ipv6("::1")
		assert(hi == 0 and lo == 1 and select("#", a.parse_ipv6("::1")) == 2)
		hi, lo = a.parse_ipv6("2001:db8:1:2:3:4:5:6")
		assert(hi == 0x20010db800010002 and lo == 0x0003000400050006)
		hi, lo = a.parse_ipv6("ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe")
		assert(hi == -1 and lo == -2)
		hi, lo = a.parse_ipv6("::ffff:1.2.3.4")
		assert(hi == 0 and lo == 0xffff01020304)
		assert(select("#", a.parse_ipv6("fe80::1%eth0")) == 0)
		assert(select("#", a.parse_ipv6("1.2.3.4")) == 0)
	`), "=addr")
	if err != nil {
		t.Fatal(err)
	}
	L.Push(fn)
	if err := L.PCall(0, 0, nil); err != nil {
		t.Fatal(err)
	}
}

// TestParseIPv6SpecExample runs the Lua API reference's example for
// neosocksd.parse_ipv6 verbatim: a /10 subnet tested with 64-bit masks.
func TestParseIPv6SpecExample(t *testing.T) {
	L := lua.NewState()
	defer L.Close()
	OpenCompat(L)
	ns := L.NewTable()
	L.SetGlobal("neosocksd", ns)
	L.SetFuncs(ns, map[string]lua.LGFunction{"parse_ipv6": luaParseIPv6})
	fn, err := lua54.Load(L, []byte(`
local subnet1, subnet2 = neosocksd.parse_ipv6("fe80::")
local mask1, mask2 = 0xFFC0000000000000, 0x0000000000000000
local ip1, ip2 = neosocksd.parse_ipv6("fe80::1")
assert((ip1 & mask1) == subnet1 and (ip2 & mask2) == subnet2)
local ip3, ip4 = neosocksd.parse_ipv6("fec0::1")
assert(not ((ip3 & mask1) == subnet1 and (ip4 & mask2) == subnet2))
assert(subnet1 == 0xfe80000000000000 and subnet2 == 0)
local one1, one2 = neosocksd.parse_ipv6("::1")
assert(one1 == 0 and one2 == 1)
`), "=example")
	if err != nil {
		t.Fatal(err)
	}
	L.Push(fn)
	if err := L.PCall(0, 0, nil); err != nil {
		t.Fatal(err)
	}
}

func TestEventSink(t *testing.T) {
	L := newTestState(t)
	var events []Event
	SetEventSink(L, func(ev Event) { events = append(events, ev) })
	var printed []string
	L.SetGlobal("print", L.NewFunction(func(L *lua.LState) int {
		printed = append(printed, L.CheckString(1))
		return 0
	}))
	err := L.DoString(`
		local rs = require "libruleset"
		_G.redirect_name = { { match.host("a.lan"), rule.direct(), "lan" } }
		_G.route_default = { rule.reject(), "default" }
		rs.decide.resolve("A.lan:80")
		rs.decide.resolve("x\"y:1")
		evlogf("%d items", 3)
		config.loglevel = 6
		rs.decide.resolve("a.lan:81")
	`)
	if err != nil {
		t.Fatal(err)
	}
	want := []Event{
		{Kind: EventRule, Msg: `[lan] "A.lan:80"`, Tag: "lan", Addr: "A.lan:80"},
		{Kind: EventRule, Msg: `[default] "x\"y:1"`, Tag: "default", Addr: `x"y:1`},
		{Kind: EventMessage, Msg: "3 items"},
		{Kind: EventRule, Msg: `[lan] "a.lan:81"`, Tag: "lan", Addr: "a.lan:81"},
	}
	if len(events) != len(want) {
		t.Fatalf("events %+v, want %+v", events, want)
	}
	for i := range want {
		if events[i] != want[i] {
			t.Errorf("event %d = %+v, want %+v", i, events[i], want[i])
		}
	}
	if len(printed) != 1 || !strings.HasPrefix(printed[0], "D ") || !strings.Contains(printed[0], `libruleset.lua:`) ||
		!strings.HasSuffix(printed[0], ` [lan] "a.lan:81"`) {
		t.Errorf("printed %q", printed)
	}
	// authentication failures
	events = nil
	err = L.DoString(`
		neosocksd.config = function() return { loglevel = 0, auth_required = true } end
		package.loaded.libruleset = nil
		_G.ruleset = require "libruleset"
		await.forward = function(...) return ... end
		assert(ruleset.resolve("a.lan:80", "bob", "pw") == nil)
	`)
	if err != nil {
		t.Fatal(err)
	}
	if len(events) != 1 || events[0].Kind != EventAuthFail || events[0].User != "bob" || events[0].Msg != `authenticate failed: "bob"` {
		t.Errorf("auth events %+v", events)
	}
	SetEventSink(L, nil)
	if err := L.DoString(`evlog("no sink")`); err != nil {
		t.Fatal(err)
	}
}

func TestQuote54(t *testing.T) {
	tests := []struct {
		in   lua.LValue
		want string
	}{
		{lua.LString("a\"b\\c\nd"), `"a\"b\\c\` + "\n" + `d"`},
		{lua.LString("\x00\x01x\r9\x7f"), `"\0\1x\0139\127"`},
		{lua.LString("\x001\r2"), `"\0001\0132"`},
		{lua.LString("é"), `"é"`},
		{lua.LNumber(42), "42"},
		{lua.LNumber(1.5), "0x1.8p+0"},
		{lua.LNil, "nil"},
		{lua.LTrue, "true"},
	}
	for _, tc := range tests {
		if got := string(appendQuote54(nil, tc.in)); got != tc.want {
			t.Errorf("quote(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestFormatTimestamp(t *testing.T) {
	saved := time.Local
	defer func() { time.Local = saved }()
	time.Local = time.FixedZone("X", 8*3600)
	if got := formatTimestamp(1714536000.7); got != "2024-05-01T12:00:00+08:00" {
		t.Errorf("formatTimestamp = %q", got)
	}
	time.Local = time.FixedZone("Y", -(3*3600 + 30*60))
	if got := formatTimestamp(0); got != "1969-12-31T20:30:00-03:30" {
		t.Errorf("formatTimestamp = %q", got)
	}
	time.Local = time.UTC
	if got := formatTimestamp(-0.5); got != "1969-12-31T23:59:59+00:00" {
		t.Errorf("formatTimestamp = %q", got)
	}
}

// gzipMember builds a gzip member with every optional header field set,
// FHCRC included (Go's writer never sets it).
func gzipMember(t *testing.T, payload string) []byte {
	t.Helper()
	var b bytes.Buffer
	w := gzip.NewWriter(&b)
	w.Name = "name.txt"
	w.Comment = "a comment"
	w.Extra = []byte("XYZ")
	w.Write([]byte(payload))
	w.Close()
	z := b.Bytes()
	// header: 10 bytes, XLEN+extra, name\0, comment\0
	n := 10 + 2 + len(w.Extra) + len(w.Name) + 1 + len(w.Comment) + 1
	hdr := append([]byte(nil), z[:n]...)
	hdr[3] |= 0x02 // FHCRC
	crc := crc32.ChecksumIEEE(hdr)
	out := append(hdr, byte(crc), byte(crc>>8))
	return append(out, z[n:]...)
}

func TestGunzipHeaderFields(t *testing.T) {
	L := lua.NewState()
	defer L.Close()
	L.SetGlobal("zlib", OpenZlib(L))
	data := append(gzipMember(t, "hello "), gzipMember(t, "world")...)
	L.SetGlobal("data", lua.LString(data))
	bad := gzipMember(t, "x")
	bad[25] ^= 0xff // a byte of the comment, covered by FHCRC
	L.SetGlobal("bad", lua.LString(bad))
	err := L.DoString(`
		assert(zlib.gunzip(data) == "hello world")
		assert(not pcall(zlib.gunzip, bad))
	`)
	if err != nil {
		t.Fatal(err)
	}
}
