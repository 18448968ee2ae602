package loopback

import (
	"errors"
	"net"
	"testing"
	"time"
)

func TestCheck(t *testing.T) {
	tests := []struct {
		name string
		addr string
		ok   bool
	}{
		{name: "ipv4 loopback", addr: "127.0.0.1:1080", ok: true},
		{name: "other 127/8 address", addr: "127.0.1.16:80", ok: true},
		{name: "ipv6 loopback", addr: "[::1]:1080", ok: true},
		{name: "ipv4-mapped loopback", addr: "[::ffff:127.0.0.1]:1080", ok: true},
		{name: "localhost", addr: "localhost:1080", ok: true},
		{name: "documentation address", addr: "192.0.2.1:1080"},
		{name: "unspecified", addr: "0.0.0.0:1080"},
		{name: "ipv6 unspecified", addr: "[::]:1080"},
		{name: "empty host", addr: ":1080"},
		{name: "other name", addr: "example.com:80"},
		{name: "zone", addr: "[::1%lo]:80"},
		{name: "no port", addr: "127.0.0.1"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := Check(tc.addr)
			if tc.ok && err != nil {
				t.Fatalf("Check(%q) = %v, want nil", tc.addr, err)
			}
			if !tc.ok && err == nil {
				t.Fatalf("Check(%q) = nil, want an error", tc.addr)
			}
		})
	}
	if err := Check("198.51.100.1:1"); !errors.Is(err, ErrNotLoopback) {
		t.Errorf("error %v does not wrap ErrNotLoopback", err)
	}
}

func TestWaitPort(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	if err := WaitPort(addr, time.Second); err != nil {
		t.Fatalf("WaitPort on a listener: %v", err)
	}
	if !Listening(addr) {
		t.Error("Listening = false on a listener")
	}
	ln.Close()
	if err := WaitPort(addr, 0); err == nil {
		t.Error("WaitPort on a closed port returned nil")
	}
	if err := WaitPort("192.0.2.1:9", time.Second); !errors.Is(err, ErrNotLoopback) {
		t.Errorf("WaitPort off loopback = %v, want ErrNotLoopback", err)
	}
}
