package main

import (
	"strings"
	"testing"

	"github.com/neosocksd-go/neosocksd/core/config"
)

func TestParseArgs(t *testing.T) {
	tests := []struct {
		name  string
		args  []string
		check func(t *testing.T, o *options)
		err   string
	}{
		{name: "listen short and long, last wins", args: []string{"-l", "a:1", "--listen", "b:2"},
			check: func(t *testing.T, o *options) { want(t, o.conf.Listen, "b:2") }},
		{name: "http with address", args: []string{"-l", ":1080", "--http", "127.0.0.1:8080"},
			check: func(t *testing.T, o *options) {
				want(t, o.conf.Listen, ":1080")
				want(t, o.conf.HTTPListen, "127.0.0.1:8080")
			}},
		{name: "http-only mode takes the -l address", args: []string{"--http", "-l", "127.0.0.1:8080"},
			check: func(t *testing.T, o *options) {
				want(t, o.conf.Listen, "")
				want(t, o.conf.HTTPListen, "127.0.0.1:8080")
			}},
		{name: "http last token", args: []string{"-l", "x:1", "--http"},
			check: func(t *testing.T, o *options) { want(t, o.conf.HTTPListen, "x:1") }},
		{name: "-4 then -6", args: []string{"-4", "-6"},
			check: func(t *testing.T, o *options) { wantInt(t, o.conf.ResolvePF, config.PFInet6) }},
		{name: "timeout hex float", args: []string{"-t", "0x1p4"},
			check: func(t *testing.T, o *options) {
				if o.conf.Timeout != 16 {
					t.Fatalf("timeout = %v", o.conf.Timeout)
				}
			}},
		{name: "timeout inf parses", args: []string{"-t", "inf"}, check: func(t *testing.T, o *options) {}},
		{name: "timeout garbage", args: []string{"-t", "5s"}, err: "argument error: -t `5s'"},
		{name: "loglevel", args: []string{"--loglevel", "7"},
			check: func(t *testing.T, o *options) { wantInt(t, o.conf.LogLevel, 7) }},
		{name: "api token file and open metrics", args: []string{"--api-token-file", "tok", "--api-metrics-open"},
			check: func(t *testing.T, o *options) {
				want(t, o.apiTokenFile, "tok")
				if !o.apiMetricsOpen {
					t.Fatal("--api-metrics-open not set")
				}
			}},
		{name: "api token file missing", args: []string{"--api-token-file"}, err: "requires an argument"},
		{name: "loglevel negative", args: []string{"--loglevel", "-1"}, err: "argument error"},
		{name: "loglevel empty", args: []string{"--loglevel", ""}, err: "argument error"},
		{name: "max-sessions too big", args: []string{"-m", "2147483648"}, err: "argument error"},
		{name: "max-startups", args: []string{"--max-startups", "10:30:100"},
			check: func(t *testing.T, o *options) {
				wantInt(t, o.conf.StartupLimitStart, 10)
				wantInt(t, o.conf.StartupLimitRate, 30)
				wantInt(t, o.conf.StartupLimitFull, 100)
			}},
		{name: "max-startups two fields", args: []string{"--max-startups", "10:30"}, err: "argument error"},
		{name: "max-startups trailing garbage", args: []string{"--max-startups", "1:2:3x"}, err: "argument error"},
		{name: "memlimit negative clamps", args: []string{"--memlimit", "-5"},
			check: func(t *testing.T, o *options) { wantInt(t, o.conf.MemLimit, 0) }},
		{name: "memlimit too large", args: []string{"--memlimit", "2097152"}, err: "argument error"},
		{name: "memlimit max", args: []string{"--memlimit", "2097151"},
			check: func(t *testing.T, o *options) { wantInt(t, o.conf.MemLimit, 2097151) }},
		{name: "block-outbound clears first", args: []string{"--block-outbound", "loopback,,local"},
			check: func(t *testing.T, o *options) {
				c := o.conf
				if !c.BlockLoopback || c.BlockMulticast || !c.BlockLocal || c.BlockGlobal {
					t.Fatalf("flags %v %v %v %v", c.BlockLoopback, c.BlockMulticast, c.BlockLocal, c.BlockGlobal)
				}
			}},
		{name: "block-outbound empty unblocks all", args: []string{"--block-outbound", ""},
			check: func(t *testing.T, o *options) {
				if o.conf.BlockMulticast {
					t.Fatal("multicast still blocked")
				}
			}},
		{name: "block-outbound unknown", args: []string{"--block-outbound", "lan"}, err: "argument error"},
		{name: "log sink", args: []string{"--log", "discard"},
			check: func(t *testing.T, o *options) { want(t, o.logSink, "discard") }},
		{name: "log sink unknown", args: []string{"--log", "file"}, err: "argument error: --log `file'"},
		{name: "missing argument", args: []string{"-l"}, err: "option `-l' requires an argument"},
		{name: "positional argument", args: []string{"foo"}, err: "unknown argument: `foo'"},
		{name: "no bundling", args: []string{"-d4"}, err: "unknown argument: `-d4'"},
		{name: "no equals form", args: []string{"-l=x:1"}, err: "unknown argument"},
		{name: "double dash stops", args: []string{"-l", "a:1", "--", "garbage", "-x"},
			check: func(t *testing.T, o *options) { want(t, o.conf.Listen, "a:1") }},
		{name: "help stops parsing", args: []string{"-l", "a:1", "--help", "garbage"},
			check: func(t *testing.T, o *options) {
				if !o.help {
					t.Fatal("help not set")
				}
			}},
		{name: "-c and -r exclusive", args: []string{"-c", "a.lua", "-r", "b.lua"}, err: "mutually exclusive"},
		{name: "no-fastopen", args: []string{"--no-fastopen"},
			check: func(t *testing.T, o *options) {
				if o.conf.TCPFastOpen {
					t.Fatal("fast open still on")
				}
			}},
		{name: "user", args: []string{"-u", "nobody:"},
			check: func(t *testing.T, o *options) { want(t, o.conf.UserName, "nobody:") }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o, err := parseArgs(tc.args)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tc.check(t, o)
		})
	}
}

func want(t *testing.T, got, w string) {
	t.Helper()
	if got != w {
		t.Fatalf("got %q, want %q", got, w)
	}
}

func wantInt(t *testing.T, got, w int) {
	t.Helper()
	if got != w {
		t.Fatalf("got %d, want %d", got, w)
	}
}
