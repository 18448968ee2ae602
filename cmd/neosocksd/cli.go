package main

import (
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"

	"github.com/neosocksd-go/neosocksd/core/config"
)

// options is what the command line says, beyond the configuration record.
type options struct {
	conf       config.Config
	help       bool
	version    bool // --version, an addition to the original's options
	dumpConfig bool
	check      bool   // --check: load and check everything, then exit
	logSink    string // stdout, stderr, terminal, syslog, discard
	logFormat  string // text or json (--log-format, an addition)
	httpOnly   bool   // --http without an address: the -l address serves HTTP
	// apiTokenFile names the file holding the API token (beyond the
	// original): the API requires it and the RPC client sends it. The
	// token itself never appears on the command line, where other users
	// could read it in /proc.
	apiTokenFile string
	// apiMetricsOpen leaves /metrics open when the API requires a token.
	apiMetricsOpen bool
}

// usageError is an argument error: the daemon logs it and exits 1.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

// flagSpec describes one option: its spellings, whether it takes an
// argument, and what it does with it.
type flagSpec struct {
	short, long string
	arg         argMode
	set         func(o *options, v string) error
}

type argMode uint8

const (
	noArg       argMode = iota
	requiredArg         // the next token, whatever it is
	optionalArg         // the next token unless it is missing or starts with '-'
)

var errBadValue = errors.New("bad value")

func setStr(f func(*config.Config) *string) func(*options, string) error {
	return func(o *options, v string) error { *f(&o.conf) = v; return nil }
}

func setTrue(f func(*config.Config) *bool) func(*options, string) error {
	return func(o *options, _ string) error { *f(&o.conf) = true; return nil }
}

// parseUint parses an unsigned decimal no larger than INT_MAX, the way the
// original's strtoumax-based parser accepts it ("-1" is an error).
func parseUint(v string) (int, error) {
	if v == "" {
		return 0, errBadValue
	}
	for i := 0; i < len(v); i++ {
		if v[i] < '0' || v[i] > '9' {
			return 0, errBadValue
		}
	}
	n, err := strconv.ParseUint(v, 10, 64)
	if err != nil || n > config.MaxInt {
		return 0, errBadValue
	}
	return int(n), nil
}

var flagSpecs = []flagSpec{
	{"-h", "--help", noArg, func(o *options, _ string) error { o.help = true; return nil }},
	{"", "--version", noArg, func(o *options, _ string) error { o.version = true; return nil }},
	{"-c", "--config", requiredArg, setStr(func(c *config.Config) *string { return &c.Config })},
	{"", "--dump-config", noArg, func(o *options, _ string) error { o.dumpConfig = true; return nil }},
	{"", "--check", noArg, func(o *options, _ string) error { o.check = true; return nil }},
	{"-4", "", noArg, func(o *options, _ string) error { o.conf.ResolvePF = config.PFInet; return nil }},
	{"-6", "", noArg, func(o *options, _ string) error { o.conf.ResolvePF = config.PFInet6; return nil }},
	{"-l", "--listen", requiredArg, setStr(func(c *config.Config) *string { return &c.Listen })},
	{"", "--http", optionalArg, func(o *options, v string) error {
		o.conf.HTTPListen, o.httpOnly = v, v == ""
		return nil
	}},
	{"", "--auth-required", noArg, setTrue(func(c *config.Config) *bool { return &c.AuthRequired })},
	{"-f", "--forward", requiredArg, setStr(func(c *config.Config) *string { return &c.Forward })},
	{"-x", "--proxy", requiredArg, setStr(func(c *config.Config) *string { return &c.Proxy })},
	{"", "--nameserver", requiredArg, setStr(func(c *config.Config) *string { return &c.Nameserver })},
	{"-i", "--netdev", requiredArg, setStr(func(c *config.Config) *string { return &c.Netdev })},
	{"", "--reuseport", noArg, setTrue(func(c *config.Config) *bool { return &c.ReusePort })},
	{"", "--pipe", noArg, setTrue(func(c *config.Config) *bool { return &c.Pipe })},
	{"", "--no-fastopen", noArg, func(o *options, _ string) error { o.conf.TCPFastOpen = false; return nil }},
	{"", "--fastopen-connect", noArg, setTrue(func(c *config.Config) *bool { return &c.TCPFastOpenConnect })},
	{"", "--tproxy", noArg, setTrue(func(c *config.Config) *bool { return &c.Transparent })},
	{"-r", "--ruleset", requiredArg, setStr(func(c *config.Config) *string { return &c.Ruleset })},
	{"", "--traceback", noArg, setTrue(func(c *config.Config) *bool { return &c.Traceback })},
	{"", "--memlimit", requiredArg, func(o *options, v string) error {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n > math.MaxInt32/1024 {
			return errBadValue
		}
		o.conf.MemLimit = int(max(n, 0))
		return nil
	}},
	{"", "--enable-socks5-bind", noArg, setTrue(func(c *config.Config) *bool { return &c.SOCKS5Bind })},
	{"", "--enable-socks5-udp", noArg, setTrue(func(c *config.Config) *bool { return &c.SOCKS5UDP })},
	{"", "--api", requiredArg, setStr(func(c *config.Config) *string { return &c.RestAPI })},
	{"", "--api-token-file", requiredArg, func(o *options, v string) error {
		if v == "" {
			return errBadValue
		}
		o.apiTokenFile = v
		return nil
	}},
	{"", "--api-metrics-open", noArg, func(o *options, _ string) error { o.apiMetricsOpen = true; return nil }},
	{"-t", "--timeout", requiredArg, func(o *options, v string) error {
		f, err := strconv.ParseFloat(v, 64)
		if err != nil && !errors.Is(err, strconv.ErrRange) {
			return errBadValue
		}
		o.conf.Timeout = f
		return nil
	}},
	{"", "--log", requiredArg, func(o *options, v string) error {
		switch v {
		case "stdout", "stderr", "terminal", "syslog", "discard":
			o.logSink = v
			return nil
		}
		return errBadValue
	}},
	{"", "--log-format", requiredArg, func(o *options, v string) error {
		switch v {
		case "text", "json":
			o.logFormat = v
			return nil
		}
		return errBadValue
	}},
	{"", "--loglevel", requiredArg, func(o *options, v string) error {
		n, err := parseUint(v)
		o.conf.LogLevel = n
		return err
	}},
	{"-d", "--daemonize", noArg, setTrue(func(c *config.Config) *bool { return &c.Daemonize })},
	{"-u", "--user", requiredArg, setStr(func(c *config.Config) *string { return &c.UserName })},
	{"-m", "--max-sessions", requiredArg, func(o *options, v string) error {
		n, err := parseUint(v)
		o.conf.MaxSessions = n
		return err
	}},
	{"", "--max-startups", requiredArg, func(o *options, v string) error {
		parts := strings.Split(v, ":")
		if len(parts) != 3 {
			return errBadValue
		}
		var n [3]int
		for i, p := range parts {
			var err error
			if n[i], err = parseUint(p); err != nil {
				return err
			}
		}
		o.conf.StartupLimitStart, o.conf.StartupLimitRate, o.conf.StartupLimitFull = n[0], n[1], n[2]
		return nil
	}},
	{"", "--block-outbound", requiredArg, func(o *options, v string) error {
		if len(v) > 255 {
			return errBadValue
		}
		c := &o.conf
		c.BlockLoopback, c.BlockMulticast, c.BlockLocal, c.BlockGlobal = false, false, false, false
		for _, tok := range strings.Split(v, ",") {
			switch tok {
			case "":
			case "loopback":
				c.BlockLoopback = true
			case "multicast":
				c.BlockMulticast = true
			case "local":
				c.BlockLocal = true
			case "global":
				c.BlockGlobal = true
			default:
				return errBadValue
			}
		}
		return nil
	}},
}

// parseArgs parses argv (without the program name) with neosocksd's rules:
// no positional arguments, no bundling, the last occurrence wins, "--"
// stops parsing, and --help (or --version) stops at once.
func parseArgs(args []string) (*options, error) {
	o := &options{conf: config.Default(), logSink: "stderr", logFormat: "text"}
	byName := make(map[string]*flagSpec, 2*len(flagSpecs))
	for i := range flagSpecs {
		f := &flagSpecs[i]
		if f.short != "" {
			byName[f.short] = f
		}
		if f.long != "" {
			byName[f.long] = f
		}
	}
	for i := 0; i < len(args); i++ {
		tok := args[i]
		if tok == "--" {
			break
		}
		f := byName[tok]
		if f == nil {
			return nil, &usageError{fmt.Sprintf("unknown argument: `%s', try \"neosocksd --help\" for more information", tok)}
		}
		var v string
		switch f.arg {
		case requiredArg:
			if i+1 >= len(args) {
				return nil, &usageError{fmt.Sprintf("option `%s' requires an argument", tok)}
			}
			i++
			v = args[i]
		case optionalArg:
			if i+1 < len(args) && !strings.HasPrefix(args[i+1], "-") {
				i++
				v = args[i]
			}
		}
		if err := f.set(o, v); err != nil {
			return nil, &usageError{fmt.Sprintf("argument error: %s `%s'", tok, v)}
		}
		if o.help || o.version {
			return o, nil
		}
	}
	if o.conf.Config != "" && o.conf.Ruleset != "" {
		return nil, &usageError{"`-c'/`--config' and `-r'/`--ruleset' are mutually exclusive"}
	}
	if o.httpOnly {
		o.conf.HTTPListen, o.conf.Listen = o.conf.Listen, ""
	}
	return o, nil
}

func printUsage(w io.Writer, argv0 string) {
	fmt.Fprintf(w, `neosocksd %s
  https://github.com/hexian000/neosocksd (compatible Go implementation)

usage: %s <option>... 
  -h, --help                 show usage and exit
  --version                  print the version and the revision built from, and exit
  -4, -6                     resolve requested domain names as IPv4/IPv6 only
  -l, --listen <address>     proxy listen address (SOCKS4/4A/5; TCP forward with -f)
  --http [address]           HTTP proxy listen address (without one, the -l address serves HTTP)
  -f, --forward <address>    forward connections to this address
  -x, --proxy proxy1[,...]   forward outbound connections through this proxy chain
                             (socks4a://, socks5:// or http://, first hop first)
  --api <bind_address>       RESTful API for monitoring and ruleset management
  --api-token-file <file>    require the token in this file on every API endpoint but /healthy
                             (Authorization: Bearer, or as the Basic password); the ruleset's
                             RPC client (await.invoke, neosocksd.invoke) sends it too
  --api-metrics-open         with --api-token-file, leave /metrics open for scrapers
  -r, --ruleset <file>       load a Lua ruleset (or a route table, *.nrt)
  -c, --config <file>        load a Lua boot configuration (excludes -r)
  --dump-config              print the effective configuration as Lua and exit
                             (with -c, the configuration after the file ran)
  --check                    load -c/-r and check the configuration as start-up
                             would, then exit 0 (valid) or 1, without listening
  --traceback                print ruleset error traceback (for debugging)
  --memlimit <limit>         set a soft limit on the Lua heap, in MiB
  --auth-required            require username/password (needs a ruleset)
  --nameserver <address>     use specified nameservers (ip[:port][,ip[:port]...])
  -i, --netdev <name>        bind outbound connections to this network device
  --reuseport                allow multiple instances to listen on the same address
  --pipe                     use splice(2) through pipes for relaying
  --no-fastopen              disable server-side TCP fast open
  --tproxy                   act as a transparent proxy (Linux TPROXY)
  --enable-socks5-bind       enable SOCKS5 BIND
  --enable-socks5-udp        enable SOCKS5 UDP ASSOCIATE
  -t, --timeout <seconds>    maximum duration of the half-open phase (default: 60.0)
  -m, --max-sessions <n>     refuse connections beyond n sessions (default: 0, unlimited)
  --max-startups <start:rate:full>
                             random early drop of half-open connections (default: 0:30:0)
  --block-outbound <list>    block outbound connections to loopback,multicast,local,global
                             (default: multicast)
  --log <sink>               stdout, stderr, terminal, syslog or discard (default: stderr)
  --log-format <format>      text, or json for log shippers: one JSON object per line
                             (default: text; the system log always gets text)
  --loglevel <level>         0-8: Silence Fatal Error Warning Notice Info Debug Verbose VeryVerbose
                             (default: 4)
  -d, --daemonize            run in background
  -u, --user <name>          run as the specified user ([user][:[group]])

example:
  %s -l 127.0.0.1:1080 --http 127.0.0.1:8080 --api 127.0.0.1:9080
  %s -l :80 -f 127.0.0.1:8080 -x socks5://user:pass@gateway.lan:1080
  %s -l 127.0.0.1:1080 -r ruleset.lua --api 127.0.1.1:9080
`, version, argv0, argv0, argv0, argv0)
}
