package dial

import (
	"errors"
	"strconv"
	"testing"

	"github.com/neosocksd-go/neosocksd/core/addr"
	"github.com/neosocksd-go/neosocksd/core/route"
)

// TestChainParsedOnce checks that the hops of a request are parsed into
// the -x chain once: the same hop list gives the same slice, with no
// allocation, and a bad hop is an InvalidAddr error wrapping ErrHop.
func TestChainParsedOnce(t *testing.T) {
	base := []addr.Proxy{mustProxy(t, "socks5://u:p@127.0.0.1:1080")}
	d := New(Options{Proxies: base})
	if c, err := d.chain(route.Chain{}); err != nil || len(c) != 1 || &c[0] != &base[0] {
		t.Fatalf("no hops: %v %v", c, err)
	}
	hops := route.MakeChain("http://[::1]:3128", "socks4a://id@h.test:1")
	c1, err := d.chain(hops)
	if err != nil {
		t.Fatal(err)
	}
	want := []addr.Proxy{base[0], mustProxy(t, "http://[::1]:3128"), mustProxy(t, "socks4a://id@h.test:1")}
	if len(c1) != len(want) {
		t.Fatalf("chain %v", c1)
	}
	for i := range want {
		if c1[i] != want[i] {
			t.Fatalf("hop %d: %v, want %v", i, c1[i], want[i])
		}
	}
	// An equal chain built anew, as a ruleset returns it per request.
	again := route.MakeChain("http://[::1]:3128", "socks4a://id@h.test:1")
	if c2, _ := d.chain(again); &c2[0] != &c1[0] {
		t.Error("the same hops were parsed again")
	}
	if n := testing.AllocsPerRun(100, func() { _, _ = d.chain(again) }); n != 0 {
		t.Errorf("%v allocations per known chain", n)
	}
	_, err = d.chain(route.MakeChain("http://ok:1", "socks6://bad:1"))
	if KindOf(err) != InvalidAddr || !errors.Is(err, ErrHop) {
		t.Errorf("bad hop: %v", err)
	}
}

// TestChainMemoBounded checks that a ruleset making up a new chain per
// request cannot grow the memo past maxChains.
func TestChainMemoBounded(t *testing.T) {
	d := New(Options{})
	for i := range maxChains + 10 {
		if _, err := d.chain(route.MakeChain("socks5://h.test:" + strconv.Itoa(i+1))); err != nil {
			t.Fatal(err)
		}
	}
	if n := len(d.chains.m); n == 0 || n > maxChains {
		t.Errorf("memo holds %d chains", n)
	}
}
