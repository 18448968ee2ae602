package evloop

import (
	"net/netip"
	"strings"
	"testing"
)

func TestParseHosts(t *testing.T) {
	const file = `# a comment
127.0.0.1	localhost loop.test
::1		localhost ip6-localhost   # the second address of localhost
fe80::1%eth0	linklocal.test
bogus		bad.test
10.0.0.1	Upper.Test.
`
	h, err := parseHosts(strings.NewReader(file))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		want string // "" : not answered
	}{
		{"localhost", "127.0.0.1"},
		{"LocalHost", "127.0.0.1"},
		{"localhost.", "127.0.0.1"},
		{"loop.test", "127.0.0.1"},
		{"ip6-localhost", "::1"},
		{"upper.test", "10.0.0.1"},
		{"linklocal.test", ""},
		{"bad.test", ""},
		{"comment", ""},
		{"nowhere.test", ""},
	} {
		ip, ok := h.lookup(tc.name)
		if tc.want == "" {
			if ok {
				t.Errorf("%s answered %v, want no answer", tc.name, ip)
			}
			continue
		}
		if !ok || ip != netip.MustParseAddr(tc.want) {
			t.Errorf("%s = %v, %v; want %s", tc.name, ip, ok, tc.want)
		}
	}
}
