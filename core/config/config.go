// Package config is the daemon's configuration record: the fields the
// command line and the -c boot script set, their defaults, the validation
// pass the original calls "config check", and the Lua-table dump of
// --dump-config. It does no I/O.
package config

import (
	"errors"
	"fmt"
	"math"
	"runtime"
	"strconv"
	"strings"
	"time"
)

// Address families for ResolvePF, with Linux's values (PF_INET, PF_INET6),
// as neosocksd.config() reports them.
const (
	PFUnspec = 0
	PFInet   = 2
	PFInet6  = 10
)

// MaxInt is C's INT_MAX, the bound of every integer option.
const MaxInt = math.MaxInt32

// Config mirrors the original's configuration record. String fields use
// "" for unset (neosocksd.config() reports nil for them).
type Config struct {
	Listen     string
	Forward    string
	Proxy      string
	RestAPI    string
	HTTPListen string
	UserName   string
	Nameserver string
	Netdev     string
	Ruleset    string // -r path; not dumped
	Config     string // -c path; not dumped

	LogLevel  int
	ResolvePF int
	Timeout   float64 // seconds
	MemLimit  int     // MiB, 0 = none

	AuthRequired       bool
	Pipe               bool
	ReusePort          bool
	TCPFastOpen        bool
	TCPFastOpenConnect bool
	TCPNoDelay         bool
	TCPKeepAlive       bool
	Transparent        bool
	Traceback          bool
	SOCKS5Bind         bool
	SOCKS5UDP          bool
	Daemonize          bool
	BlockLoopback      bool
	BlockMulticast     bool
	BlockLocal         bool
	BlockGlobal        bool

	TCPSndBuf         int
	TCPRcvBuf         int
	MaxSessions       int
	StartupLimitStart int
	StartupLimitRate  int
	StartupLimitFull  int
}

// Default returns the original's defaults.
func Default() Config {
	return Config{
		LogLevel:         4,
		Timeout:          60,
		TCPFastOpen:      true,
		TCPNoDelay:       true,
		TCPKeepAlive:     true,
		BlockMulticast:   true,
		StartupLimitRate: 30,
	}
}

// TimeoutDuration returns Timeout as a duration.
func (c *Config) TimeoutDuration() time.Duration {
	return time.Duration(c.Timeout * float64(time.Second))
}

// Problems is the outcome of Check: fatal errors and warnings, each in the
// original's wording.
type Problems struct {
	Errors   []string
	Warnings []string
}

// Err returns the errors joined as one error, or nil.
func (p Problems) Err() error {
	if len(p.Errors) == 0 {
		return nil
	}
	return errors.New(strings.Join(p.Errors, "; "))
}

// Check validates c the way the original's conf_check does, stopping at the
// first error, after collecting the warnings met on the way. Last, it
// rejects Linux-only options on other systems (see checkPlatform).
func (c *Config) Check() Problems {
	var p Problems
	fail := func(msg string) Problems { p.Errors = append(p.Errors, msg); return p }
	if c.Listen == "" && c.HTTPListen == "" {
		return fail("listen address is not specified")
	}
	if c.HTTPListen != "" && c.Forward != "" {
		return fail("--http is incompatible with -f")
	}
	if c.HTTPListen != "" && c.Transparent {
		return fail("--http is incompatible with --tproxy")
	}
	if c.Forward != "" && c.Transparent {
		return fail("incompatible flags are specified")
	}
	if c.BlockGlobal && c.BlockLocal {
		return fail("incompatible outbound policies are specified")
	}
	if c.TCPSndBuf > 0 && c.TCPSndBuf < 16384 {
		p.Warnings = append(p.Warnings, "tcp_sndbuf may be too small")
	}
	if c.TCPRcvBuf > 0 && c.TCPRcvBuf < 16384 {
		p.Warnings = append(p.Warnings, "tcp_rcvbuf may be too small")
	}
	if c.Ruleset != "" && c.Proxy != "" {
		p.Warnings = append(p.Warnings, "the proxy will be overwritten by ruleset")
	}
	if c.Proxy != "" && (c.SOCKS5Bind || c.SOCKS5UDP) {
		return fail("SOCKS5 BIND/UDPASSOCIATE is incompatible with forwarding proxy")
	}
	if c.Ruleset != "" && (c.SOCKS5Bind || c.SOCKS5UDP) {
		return fail("SOCKS5 BIND/UDPASSOCIATE is incompatible with ruleset")
	}
	if c.AuthRequired && (c.Forward != "" || c.Transparent) {
		return fail("authentication is not supported in current mode")
	}
	if c.LogLevel < 0 || c.LogLevel > 8 {
		return fail("loglevel is out of range (0 - 8)")
	}
	if !(c.Timeout >= 5 && c.Timeout <= 86400) {
		return fail("timeout is out of range (5 - 86400)")
	}
	maxStart := MaxInt
	if c.StartupLimitFull > 0 {
		maxStart = c.StartupLimitFull
	}
	if c.StartupLimitStart < 0 || c.StartupLimitStart > maxStart {
		return fail("startup_limit_start is out of range")
	}
	if c.StartupLimitRate < 0 || c.StartupLimitRate > 100 {
		return fail("startup_limit_rate is out of range")
	}
	maxFull := MaxInt
	if c.MaxSessions > 0 {
		maxFull = c.MaxSessions
	}
	if c.StartupLimitFull != 0 && (c.StartupLimitFull < c.StartupLimitStart || c.StartupLimitFull > maxFull) {
		return fail("startup_limit_full is out of range")
	}
	if msg := c.checkPlatform(runtime.GOOS); msg != "" {
		return fail(msg)
	}
	return p
}

// Field describes one configuration field for generic access: the dump
// order of --dump-config, the -c boot table and neosocksd.config().
type Field struct {
	Name string
	Kind FieldKind
	Str  func(*Config) *string
	Int  func(*Config) *int
	Num  func(*Config) *float64
	Bool func(*Config) *bool
}

// FieldKind is the Lua type a field takes.
type FieldKind uint8

// Field kinds.
const (
	String FieldKind = iota
	Integer
	Number
	Boolean
)

func (k FieldKind) String() string {
	return [...]string{"a string", "an integer", "a number", "a boolean"}[k]
}

func str(name string, f func(*Config) *string) Field { return Field{Name: name, Kind: String, Str: f} }
func integer(name string, f func(*Config) *int) Field {
	return Field{Name: name, Kind: Integer, Int: f}
}
func boolean(name string, f func(*Config) *bool) Field {
	return Field{Name: name, Kind: Boolean, Bool: f}
}

// Fields lists the configuration fields in the original's dump order.
var Fields = []Field{
	str("listen", func(c *Config) *string { return &c.Listen }),
	str("forward", func(c *Config) *string { return &c.Forward }),
	str("proxy", func(c *Config) *string { return &c.Proxy }),
	str("restapi", func(c *Config) *string { return &c.RestAPI }),
	str("http_listen", func(c *Config) *string { return &c.HTTPListen }),
	str("user_name", func(c *Config) *string { return &c.UserName }),
	str("nameserver", func(c *Config) *string { return &c.Nameserver }),
	str("netdev", func(c *Config) *string { return &c.Netdev }),
	integer("loglevel", func(c *Config) *int { return &c.LogLevel }),
	integer("resolve_pf", func(c *Config) *int { return &c.ResolvePF }),
	{Name: "timeout", Kind: Number, Num: func(c *Config) *float64 { return &c.Timeout }},
	integer("memlimit", func(c *Config) *int { return &c.MemLimit }),
	boolean("auth_required", func(c *Config) *bool { return &c.AuthRequired }),
	boolean("pipe", func(c *Config) *bool { return &c.Pipe }),
	boolean("reuseport", func(c *Config) *bool { return &c.ReusePort }),
	boolean("tcp_fastopen", func(c *Config) *bool { return &c.TCPFastOpen }),
	boolean("tcp_fastopen_connect", func(c *Config) *bool { return &c.TCPFastOpenConnect }),
	boolean("tcp_nodelay", func(c *Config) *bool { return &c.TCPNoDelay }),
	boolean("tcp_keepalive", func(c *Config) *bool { return &c.TCPKeepAlive }),
	boolean("transparent", func(c *Config) *bool { return &c.Transparent }),
	boolean("traceback", func(c *Config) *bool { return &c.Traceback }),
	boolean("socks5_bind", func(c *Config) *bool { return &c.SOCKS5Bind }),
	boolean("socks5_udp", func(c *Config) *bool { return &c.SOCKS5UDP }),
	boolean("daemonize", func(c *Config) *bool { return &c.Daemonize }),
	boolean("block_loopback", func(c *Config) *bool { return &c.BlockLoopback }),
	boolean("block_multicast", func(c *Config) *bool { return &c.BlockMulticast }),
	boolean("block_local", func(c *Config) *bool { return &c.BlockLocal }),
	boolean("block_global", func(c *Config) *bool { return &c.BlockGlobal }),
	integer("tcp_sndbuf", func(c *Config) *int { return &c.TCPSndBuf }),
	integer("tcp_rcvbuf", func(c *Config) *int { return &c.TCPRcvBuf }),
	integer("max_sessions", func(c *Config) *int { return &c.MaxSessions }),
	integer("startup_limit_start", func(c *Config) *int { return &c.StartupLimitStart }),
	integer("startup_limit_rate", func(c *Config) *int { return &c.StartupLimitRate }),
	integer("startup_limit_full", func(c *Config) *int { return &c.StartupLimitFull }),
}

// DumpLua renders c as the Lua table --dump-config prints: valid Lua that
// -c can read back.
func (c *Config) DumpLua() string {
	var b strings.Builder
	b.WriteString("return {\n")
	for _, f := range Fields {
		b.WriteString("    ")
		b.WriteString(f.Name)
		b.WriteString(" = ")
		switch f.Kind {
		case String:
			if s := *f.Str(c); s == "" {
				b.WriteString("nil")
			} else {
				b.WriteString(QuoteLua(s))
			}
		case Integer:
			b.WriteString(strconv.Itoa(*f.Int(c)))
		case Number:
			b.WriteString(FormatG17(*f.Num(c)))
		case Boolean:
			b.WriteString(strconv.FormatBool(*f.Bool(c)))
		}
		b.WriteString(",\n")
	}
	b.WriteString("}\n")
	return b.String()
}

// QuoteLua quotes s as a Lua string literal the way the dump does: `\` and
// `"` escaped, bytes below 0x20 and 0x7F as \ddd, everything else raw.
func QuoteLua(s string) string {
	b := make([]byte, 0, len(s)+2)
	b = append(b, '"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '\\' || c == '"':
			b = append(b, '\\', c)
		case c < 0x20 || c == 0x7f:
			b = append(b, fmt.Sprintf("\\%03d", c)...)
		default:
			b = append(b, c)
		}
	}
	return string(append(b, '"'))
}

// FormatG17 formats a float like C's "%.17g" trimmed the way the original
// prints the timeout: 60 -> "60", 30.5 -> "30.5".
func FormatG17(v float64) string {
	switch {
	case math.IsInf(v, 1):
		return "1/0"
	case math.IsInf(v, -1):
		return "-1/0"
	case math.IsNaN(v):
		return "0/0"
	}
	return strconv.FormatFloat(v, 'g', 17, 64)
}
