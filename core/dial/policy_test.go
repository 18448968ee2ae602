package dial

import (
	"net/netip"
	"testing"
)

func TestClassify(t *testing.T) {
	tests := []struct {
		ip   string
		want Class
	}{
		{"0.0.0.0", Unspecified},
		{"0.1.2.3", Unspecified},
		{"0.255.255.255", Unspecified},
		{"::", Unspecified},
		{"::ffff:0.0.0.0", Unspecified},
		{"::ffff:0.9.9.9", Unspecified},

		{"127.0.0.1", Loopback},
		{"127.255.255.254", Loopback},
		{"::1", Loopback},
		{"::ffff:127.0.0.1", Loopback},

		{"224.0.0.1", Multicast},
		{"239.255.255.255", Multicast},
		{"ff02::1", Multicast},
		{"ff0e::1234", Multicast},
		{"::ffff:224.0.0.251", Multicast},

		{"169.254.0.1", Local},
		{"169.254.255.255", Local},
		{"10.0.0.1", Local},
		{"10.255.255.255", Local},
		{"172.16.0.1", Local},
		{"172.31.255.255", Local},
		{"192.168.1.1", Local},
		{"192.0.0.8", Local},
		{"fe80::1", Local},
		{"fe80::1%eth0", Local},
		{"febf::1", Local},
		{"fec0::1", Local},
		{"feff::1", Local},
		{"fc00::1", Local},
		{"fd12:3456::1", Local},
		{"::ffff:10.1.2.3", Local},
		{"::ffff:192.168.0.1", Local},

		{"1.1.1.1", Global},
		{"8.8.8.8", Global},
		{"100.64.0.1", Global},
		{"172.15.255.255", Global},
		{"172.32.0.0", Global},
		{"192.0.1.1", Global},
		{"192.0.2.2", Global},
		{"169.253.0.1", Global},
		{"223.255.255.255", Global},
		{"240.0.0.1", Global},
		{"255.255.255.255", Global},
		{"126.255.255.255", Global},
		{"128.0.0.0", Global},
		{"2001:db8::1", Global},
		{"2606:4700::1111", Global},
		{"fe7f::1", Global},
		{"fb00::1", Global},
		{"fe00::1", Global},
		{"::2", Global},
		{"::ffff:8.8.8.8", Global},
		{"64:ff9b::808:808", Global},
	}
	for _, tc := range tests {
		t.Run(tc.ip, func(t *testing.T) {
			if got := Classify(netip.MustParseAddr(tc.ip)); got != tc.want {
				t.Errorf("Classify(%s) = %v, want %v", tc.ip, got, tc.want)
			}
		})
	}
	if got := Classify(netip.Addr{}); got != Unspecified {
		t.Errorf("zero Addr: %v", got)
	}
}

func TestPolicyAllows(t *testing.T) {
	samples := map[Class]string{
		Unspecified: "0.0.0.0",
		Loopback:    "::ffff:127.0.0.1",
		Multicast:   "ff02::1",
		Local:       "192.168.0.1",
		Global:      "8.8.8.8",
	}
	policies := []struct {
		name    string
		p       Policy
		blocked map[Class]bool
	}{
		{"none", Policy{}, map[Class]bool{Unspecified: true}},
		{"default multicast", Policy{Multicast: true}, map[Class]bool{Unspecified: true, Multicast: true}},
		{"loopback", Policy{Loopback: true}, map[Class]bool{Unspecified: true, Loopback: true}},
		{"local", Policy{Local: true}, map[Class]bool{Unspecified: true, Local: true}},
		{"global", Policy{Global: true}, map[Class]bool{Unspecified: true, Global: true}},
		{"all", Policy{true, true, true, true}, map[Class]bool{Unspecified: true, Loopback: true, Multicast: true, Local: true, Global: true}},
	}
	for _, tc := range policies {
		t.Run(tc.name, func(t *testing.T) {
			for c, s := range samples {
				ip := netip.MustParseAddr(s)
				if got := tc.p.Allows(ip); got == tc.blocked[c] {
					t.Errorf("Allows(%s) [%v] = %v", s, c, got)
				}
			}
			if tc.p.Allows(netip.Addr{}) {
				t.Error("invalid address allowed")
			}
		})
	}
}

func TestClassString(t *testing.T) {
	for c, want := range map[Class]string{Unspecified: "invalid", Loopback: "loopback",
		Multicast: "multicast", Local: "local", Global: "global", 99: "unknown"} {
		if c.String() != want {
			t.Errorf("%d: %q", c, c.String())
		}
	}
}
