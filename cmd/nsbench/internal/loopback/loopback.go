// Package loopback keeps the benchmark harness on this machine: every
// address it listens on, dials or hands to a proxy goes through Check
// first. It must not open sockets itself, beyond WaitPort's probe of an
// address Check accepted.
package loopback

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"time"
)

// ErrNotLoopback is wrapped by Check's error for an address outside
// 127.0.0.0/8 and ::1.
var ErrNotLoopback = errors.New("loopback: not a loopback address (the harness only talks to 127.0.0.0/8 and ::1)")

// Check accepts "host:port" when host is "localhost" or an IP literal in
// 127.0.0.0/8 or ::1 (IPv4-mapped forms included); anything else, names
// and the unspecified address among them, is refused.
func Check(hostport string) error {
	host, _, err := net.SplitHostPort(hostport)
	if err != nil {
		return fmt.Errorf("loopback: %w", err)
	}
	return CheckHost(host)
}

// CheckHost is Check for a host without a port.
func CheckHost(host string) error {
	if host == "localhost" {
		return nil
	}
	ip, err := netip.ParseAddr(host)
	if err != nil || ip.Zone() != "" || !ip.Unmap().IsLoopback() {
		return fmt.Errorf("%w: %q", ErrNotLoopback, host)
	}
	return nil
}

// WaitPort polls addr until it accepts a TCP connection or timeout has
// passed, probing every 50 ms.
func WaitPort(addr string, timeout time.Duration) error {
	if err := Check(addr); err != nil {
		return err
	}
	deadline := time.Now().Add(timeout)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("wait for %s: %w", addr, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Listening reports whether something accepts TCP connections on addr
// right now (one probe, 100 ms at most).
func Listening(addr string) bool {
	c, err := net.DialTimeout("tcp", addr, 100*time.Millisecond)
	if err != nil {
		return false
	}
	c.Close()
	return true
}
