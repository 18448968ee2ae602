package load

import "syscall"

// spreadSources says whether the client may bind to source addresses
// across 127.0.0.0/8: Linux routes all of it to loopback.
const spreadSources = true

// ipBindAddressNoPort is IP_BIND_ADDRESS_NO_PORT from linux/in.h.
const ipBindAddressNoPort = 24

// bindAddressNoPort makes a bind to a source address leave the port to
// connect, which can reuse it towards another destination, so that the
// whole 4-tuple space is usable.
func bindAddressNoPort(fd uintptr) error {
	return syscall.SetsockoptInt(int(fd), syscall.IPPROTO_IP, ipBindAddressNoPort, 1)
}
