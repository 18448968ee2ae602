//go:build !linux

package load

// spreadSources is false: outside Linux, loopback is 127.0.0.1 alone
// unless the administrator adds aliases.
const spreadSources = false

// bindAddressNoPort is never needed without spread source addresses.
func bindAddressNoPort(uintptr) error { return nil }
