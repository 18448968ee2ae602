package conformance

import (
	"bytes"
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/neosocksd-go/neosocksd/core/route"
)

func TestGenerateIsDeterministicAndCoversCategories(t *testing.T) {
	lits := Literals{
		Names:    []string{"corp.example"},
		Addrs:    []string{"server.lan:22", "1.1.1.1:53", "[2001:db8::1]:80"},
		Prefixes: []netip.Prefix{netip.MustParsePrefix("192.168.0.0/16"), netip.MustParsePrefix("fe80::/10")},
		Ports:    []uint16{22},
		Users:    map[string]string{"alice": "s3cret"},
	}
	a := Generate(lits, 7, 500)
	b := Generate(lits, 7, 500)
	if !slices.Equal(a, b) {
		t.Fatal("same seed gave different streams")
	}
	if len(a) < 500 {
		t.Fatalf("stream has %d requests, want at least 500", len(a))
	}
	want := []Request{
		{Callback: route.Resolve, Addr: "CORP.EXAMPLE:443"},
		{Callback: route.Route, Addr: "1.1.1.1:53"},
		{Callback: route.Route6, Addr: "[2001:db8::1]:80"},
		{Callback: route.Route, Addr: "192.168.255.255:80"},
		{Callback: route.Route, Addr: "192.169.0.0:80"},
		{Callback: route.Route, Addr: "192.167.255.255:80"},
		{Callback: route.Route6, Addr: "[febf:ffff:ffff:ffff:ffff:ffff:ffff:ffff]:80"},
		{Callback: route.Resolve, Addr: "::1:80"},
		{Callback: route.Resolve, Addr: "example.com:0x50"},
		{Callback: route.Resolve, Addr: "1.2.3.4.:80"},
	}
	for _, w := range want {
		if !slices.Contains(a, w) {
			t.Errorf("stream lacks %s", w)
		}
	}
	var auth, repeats int
	for i, r := range a {
		if r.Cred.HasUsername && r.Cred.Username == "alice" {
			auth++
		}
		if i > 0 && a[i-1] == r {
			repeats++
		}
	}
	if auth == 0 || repeats == 0 {
		t.Fatalf("auth requests %d, back-to-back repeats %d", auth, repeats)
	}
}

func TestStreamFormatRoundTrip(t *testing.T) {
	in := []Request{
		{Callback: route.Resolve, Addr: "a\"b:80"},
		{Callback: route.Route6, Addr: "[::1]:53", Cred: route.Credentials{Username: "u", HasUsername: true}},
		{Callback: route.Route, Addr: "1.2.3.4:1", Cred: route.Credentials{Username: "", Password: "p w", HasUsername: true, HasPassword: true}},
		{Callback: route.Resolve, Addr: "bad\xffutf8:1"},
	}
	var buf bytes.Buffer
	if err := WriteStream(&buf, in); err != nil {
		t.Fatal(err)
	}
	out, err := ReadStream(strings.NewReader("# comment\n\n" + buf.String() + "\"10.0.0.1:80\" user \"x\"\n"))
	if err != nil {
		t.Fatal(err)
	}
	in = append(in, Request{Callback: route.Route, Addr: "10.0.0.1:80", Cred: route.Credentials{Username: "x", HasUsername: true}})
	if !slices.Equal(in, out) {
		t.Fatalf("round trip:\n%v\n%v", in, out)
	}
	if _, err := ReadStream(strings.NewReader("resolve unquoted\n")); err == nil {
		t.Fatal("unquoted address accepted")
	}
}

// fakeEngine routes everything directly, except that after it has seen
// trigger `after` times it starts rejecting it: a stateful divergence.
type fakeEngine struct {
	name    string
	trigger string
	after   int
	seen    int
}

func (f *fakeEngine) Name() string { return f.name }
func (f *fakeEngine) Reset() error { f.seen = 0; return nil }
func (f *fakeEngine) Decide(r Request) (Outcome, error) {
	if r.Addr == f.trigger {
		f.seen++
		if f.after > 0 && f.seen > f.after {
			return Outcome{Verdict: route.Reject}, nil
		}
	}
	return Outcome{Verdict: route.Forward, Target: r.Addr, Events: []Event{{"t", r.Addr}}}, nil
}

func TestRunAndShrink(t *testing.T) {
	good := &fakeEngine{name: "G", trigger: "x:1"}
	bad := &fakeEngine{name: "L", trigger: "x:1", after: 2}
	var stream []Request
	for i := 0; i < 40; i++ {
		stream = append(stream, Request{Addr: "filler:" + string(rune('a'+i%26))})
		if i%10 == 0 {
			stream = append(stream, Request{Addr: "x:1"})
		}
	}
	if m := Run([]Engine{good, good}, stream); m != nil {
		t.Fatalf("identical engines disagree: %v", m)
	}
	m := Run([]Engine{good, bad}, stream)
	if m == nil || m.Request.Addr != "x:1" || m.OutB.Verdict != route.Reject {
		t.Fatalf("mismatch not found: %v", m)
	}
	if !strings.Contains(m.Error(), "REJECT") || !strings.Contains(m.Error(), `ROUTE "x:1"`) {
		t.Fatalf("report lacks both outcomes:\n%s", m.Error())
	}
	small := Shrink([]Engine{good, bad}, stream)
	if len(small) != 3 || small[0].Addr != "x:1" || small[2].Addr != "x:1" {
		t.Fatalf("shrunk stream = %v, want three x:1 requests", small)
	}
}

func TestOutcomeSame(t *testing.T) {
	a := Outcome{Verdict: route.Error, Reason: "loop"}
	b := Outcome{Verdict: route.Error, Reason: "split"}
	if !a.Same(b) {
		t.Fatal("errors of different reasons should compare equal by kind")
	}
	c := Outcome{Verdict: route.Forward, Target: "a:1", Chain: route.MakeChain("socks5://p:1")}
	d := c
	d.Chain = route.MakeChain("socks5://q:1")
	if c.Same(d) {
		t.Fatal("different chains compare equal")
	}
	if got := CallbackOf("[::1]:80"); got != route.Route6 {
		t.Fatal(got)
	}
	if got := CallbackOf("1.2.3.4:80"); got != route.Route {
		t.Fatal(got)
	}
	if got := CallbackOf("[1.2.3.4]:80"); got != route.Resolve {
		t.Fatal(got)
	}
}

func TestGenerateDeterministicWithManyUsers(t *testing.T) {
	lits := Literals{Names: []string{"a.example"}, Users: map[string]string{"u1": "p", "u2": "q", "u3": "", "u4": "r", "u5": "s"}}
	a := Generate(lits, 3, 400)
	for i := 0; i < 5; i++ {
		if b := Generate(lits, 3, 400); !slices.Equal(a, b) {
			t.Fatal("same seed gave different streams")
		}
	}
}
