//go:build !linux && !freebsd

package driver

import "syscall"

// childAttr starts a child in a session of its own when setsid is set.
// This system has no parent-death signal: a driver killed outright leaves
// its children running.
func childAttr(setsid bool) *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setsid: setsid}
}
