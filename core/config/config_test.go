package config

import (
	"math"
	"runtime"
	"strings"
	"testing"
)

func TestCheck(t *testing.T) {
	base := func() Config { c := Default(); c.Listen = "127.0.0.1:1080"; return c }
	tests := []struct {
		name   string
		mutate func(*Config)
		err    string
		warn   string
	}{
		{name: "defaults with a listener", mutate: func(*Config) {}},
		{name: "no listener", mutate: func(c *Config) { c.Listen = "" }, err: "listen address is not specified"},
		{name: "http only", mutate: func(c *Config) { c.Listen, c.HTTPListen = "", ":8080" }},
		{name: "http and forward", mutate: func(c *Config) { c.HTTPListen, c.Forward = ":8080", "a:1" }, err: "--http is incompatible with -f"},
		{name: "http and tproxy", mutate: func(c *Config) { c.HTTPListen, c.Transparent = ":8080", true }, err: "--http is incompatible with --tproxy"},
		{name: "forward and tproxy", mutate: func(c *Config) { c.Forward, c.Transparent = "a:1", true }, err: "incompatible flags are specified"},
		{name: "local and global", mutate: func(c *Config) { c.BlockLocal, c.BlockGlobal = true, true }, err: "incompatible outbound policies"},
		{name: "small sndbuf warns", mutate: func(c *Config) { c.TCPSndBuf = 100 }, warn: "tcp_sndbuf may be too small"},
		{name: "ruleset and proxy warns", mutate: func(c *Config) { c.Ruleset, c.Proxy = "r.lua", "socks5://h:1" }, warn: "overwritten"},
		{name: "proxy and bind", mutate: func(c *Config) { c.Proxy, c.SOCKS5Bind = "socks5://h:1", true }, err: "incompatible with forwarding proxy"},
		{name: "ruleset and udp", mutate: func(c *Config) { c.Ruleset, c.SOCKS5UDP = "r.lua", true }, err: "incompatible with ruleset"},
		{name: "auth with forward", mutate: func(c *Config) { c.AuthRequired, c.Forward = true, "a:1" }, err: "authentication is not supported"},
		{name: "loglevel 9", mutate: func(c *Config) { c.LogLevel = 9 }, err: "loglevel is out of range"},
		{name: "timeout 1", mutate: func(c *Config) { c.Timeout = 1 }, err: "timeout is out of range"},
		{name: "timeout NaN", mutate: func(c *Config) { c.Timeout = math.NaN() }, err: "timeout is out of range"},
		{name: "timeout max", mutate: func(c *Config) { c.Timeout = 86400 }},
		{name: "startups start above full", mutate: func(c *Config) { c.StartupLimitStart, c.StartupLimitFull = 10, 5 }, err: "startup_limit_start"},
		{name: "startups rate 101", mutate: func(c *Config) { c.StartupLimitRate = 101 }, err: "startup_limit_rate"},
		{name: "startups full above max sessions", mutate: func(c *Config) { c.StartupLimitFull, c.MaxSessions = 100, 50 }, err: "startup_limit_full"},
		{name: "startups full within max sessions", mutate: func(c *Config) { c.StartupLimitStart, c.StartupLimitFull, c.MaxSessions = 10, 50, 50 }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := base()
			tc.mutate(&c)
			p := c.Check()
			err := p.Err()
			if tc.err == "" && err != nil {
				t.Fatalf("unexpected error %v", err)
			}
			if tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)) {
				t.Fatalf("err = %v, want %q", err, tc.err)
			}
			if tc.warn != "" && !strings.Contains(strings.Join(p.Warnings, "\n"), tc.warn) {
				t.Fatalf("warnings %q lack %q", p.Warnings, tc.warn)
			}
		})
	}
}

func TestDumpLua(t *testing.T) {
	c := Default()
	c.Listen = "127.0.0.1:1080"
	c.Proxy = "socks5://u:\"p\\@h:1"
	c.Netdev = "a\x01b\x7f"
	c.Timeout = 30.5
	out := c.DumpLua()
	for _, want := range []string{
		"return {\n    listen = \"127.0.0.1:1080\",\n    forward = nil,\n",
		"    proxy = \"socks5://u:\\\"p\\\\@h:1\",\n",
		"    netdev = \"a\\001b\\127\",\n",
		"    loglevel = 4,\n",
		"    timeout = 30.5,\n",
		"    tcp_fastopen = true,\n",
		"    startup_limit_full = 0,\n}\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("dump lacks %q:\n%s", want, out)
		}
	}
	if got := strings.Count(out, "\n"); got != len(Fields)+2 {
		t.Errorf("dump has %d lines, want %d", got, len(Fields)+2)
	}
	c.Timeout = 60
	if !strings.Contains(c.DumpLua(), "timeout = 60,") {
		t.Error("integral timeout not printed as 60")
	}
}

func TestSlogLevel(t *testing.T) {
	if SlogLevel(0) != LevelSilence || SlogLevel(4) != LevelNotice || SlogLevel(8) != LevelVeryVerbose {
		t.Fatal("level mapping")
	}
	if LevelLetter(LevelNotice) != 'I' || LevelLetter(LevelWarning) != 'W' || LevelLetter(LevelVerbose) != 'V' {
		t.Fatal("letters")
	}
}

// TestCheckPlatform checks what each system makes of the Linux-only
// options: on Linux they pass, elsewhere start-up fails naming the option.
func TestCheckPlatform(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*Config)
		want   string // on non-Linux systems; "" = accepted
	}{
		{name: "defaults", mutate: func(*Config) {}},
		{name: "pipe falls back to a copy", mutate: func(c *Config) { c.Pipe = true }},
		{name: "reuseport exists everywhere", mutate: func(c *Config) { c.ReusePort = true }},
		{name: "server fast open off", mutate: func(c *Config) { c.TCPFastOpen = false }},
		{name: "tproxy", mutate: func(c *Config) { c.Transparent = true }, want: "--tproxy (transparent) is only supported on Linux"},
		{name: "netdev", mutate: func(c *Config) { c.Netdev = "eth0" }, want: "--netdev (netdev) is only supported on Linux"},
		{name: "fastopen connect", mutate: func(c *Config) { c.TCPFastOpenConnect = true }, want: "--fastopen-connect (tcp_fastopen_connect) is only supported on Linux"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := Default()
			c.Listen = "127.0.0.1:1080"
			tc.mutate(&c)
			if got := c.checkPlatform("linux"); got != "" {
				t.Errorf("linux: %q, want accepted", got)
			}
			for _, goos := range []string{"darwin", "freebsd"} {
				if got := c.checkPlatform(goos); got != tc.want {
					t.Errorf("%s: %q, want %q", goos, got, tc.want)
				}
			}
			// Check applies the verdict for the system it runs on.
			want := c.checkPlatform(runtime.GOOS)
			if err := c.Check().Err(); (want == "" && err != nil) || (want != "" && (err == nil || err.Error() != want)) {
				t.Errorf("on %s Check() = %v, want %q", runtime.GOOS, err, want)
			}
		})
	}
}
