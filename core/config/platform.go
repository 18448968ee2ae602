package config

// checkPlatform returns the error for the first option c enables that the
// operating system goos cannot honour, or "". Transparent proxying
// (IP_TRANSPARENT), binding to a device (SO_BINDTODEVICE) and client-side
// TCP Fast Open (TCP_FASTOPEN_CONNECT) are Linux socket options with no
// equivalent we can use elsewhere; the original does not offer them outside
// Linux either. Rather than run without them, start-up and reload fail
// with a message that names the option.
//
// The other Linux features degrade instead: --pipe relays with a plain
// copy, and server-side TCP Fast Open (on by default) is not set.
// --reuseport sets SO_REUSEPORT, which every supported system has.
func (c *Config) checkPlatform(goos string) string {
	if goos == "linux" {
		return ""
	}
	switch {
	case c.Transparent:
		return "--tproxy (transparent) is only supported on Linux"
	case c.Netdev != "":
		return "--netdev (netdev) is only supported on Linux"
	case c.TCPFastOpenConnect:
		return "--fastopen-connect (tcp_fastopen_connect) is only supported on Linux"
	}
	return ""
}
