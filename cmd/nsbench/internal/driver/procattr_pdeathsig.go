//go:build linux || freebsd

package driver

import "syscall"

// childAttr starts a child, in a session of its own when setsid is set,
// that the kernel kills when the driver dies, so that a driver killed
// outright takes its proxies, sink and load client along.
func childAttr(setsid bool) *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setsid: setsid, Pdeathsig: syscall.SIGKILL}
}
