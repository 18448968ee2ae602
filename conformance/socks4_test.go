package conformance

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/neosocksd-go/neosocksd/core/config"
	"github.com/neosocksd-go/neosocksd/core/route"
	"github.com/neosocksd-go/neosocksd/core/testkit"
	"github.com/neosocksd-go/neosocksd/core/testkit/testproxy"
	"github.com/neosocksd-go/neosocksd/dsl"
	"github.com/neosocksd-go/neosocksd/script"
)

// TestSOCKS4UserIDs sends SOCKS4 and SOCKS4A requests with user IDs
// through a real proxy to each engine, with and without --auth-required.
// The ID arrives as the username with no password (protocols §3): the
// route table and its Lua translation (libruleset's secrets) admit it only
// for a user declared `any`, and a ruleset.authenticate sees the ID and a
// nil password. Both engines of the same table must answer alike.
func TestSOCKS4UserIDs(t *testing.T) {
	echo := testkit.EchoServer(t)
	dir := t.TempDir()
	src := fmt.Sprintf("users { alice = \"s3cret\"  robot = any  \"\" = \"\" }\ndefault => redirect %s\n", echo)
	nrt := filepath.Join(dir, "ids.nrt")
	writeFile(t, nrt, src)
	p := mustCheck(t, nrt, []byte(src), checkOpts(dir))
	translated := filepath.Join(dir, "ids.lua")
	writeFile(t, translated, dsl.Translate(p))
	// admits robot and the empty ID, and only without a password
	authenticate := filepath.Join(dir, "authenticate.lua")
	writeFile(t, authenticate, fmt.Sprintf(`local ruleset = require("libruleset")
_G.route_default = { rule.redirect(%q) }
function ruleset.authenticate(addr, username, password)
	return password == nil and (username == "robot" or username == "")
end
return ruleset
`, echo))

	type engine struct {
		name  string
		start func(t *testing.T, c *config.Config) route.Router
	}
	table := engine{"route table", func(t *testing.T, c *config.Config) route.Router {
		e, err := dsl.LoadFile(nrt, dsl.Options{AuthRequired: c.AuthRequired})
		if err != nil {
			t.Fatal(err)
		}
		return e
	}}
	lua := func(name, path string) engine {
		return engine{name, func(t *testing.T, c *config.Config) route.Router {
			e, err := script.New(script.Options{Config: c})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(e.Close)
			if err := e.LoadRuleset(path); err != nil {
				t.Fatal(err)
			}
			return e
		}}
	}
	v4 := netip.MustParseAddrPort("10.0.0.1:80")
	tests := []struct {
		name    string
		user    string
		domain  string // SOCKS4A when set, else SOCKS4 to v4
		secrets bool   // granted by the users block under --auth-required
		authFn  bool   // granted by the ruleset.authenticate above
	}{
		{name: "any user", user: "robot", secrets: true, authFn: true},
		{name: "any user 4a", user: "robot", domain: "echo.test", secrets: true, authFn: true},
		{name: "user with a password", user: "alice"},
		{name: "empty id", user: "", secrets: false, authFn: true},
		{name: "empty id 4a", user: "", domain: "echo.test", secrets: false, authFn: true},
		{name: "unknown user", user: "mallory", domain: "echo.test"},
	}
	for _, auth := range []bool{false, true} {
		t.Run(fmt.Sprintf("auth required %t", auth), func(t *testing.T) {
			c := config.Default()
			c.Listen = "127.0.0.1:0"
			c.Timeout = 10
			c.AuthRequired = auth
			proxies := map[string]string{}
			for _, e := range []engine{table, lua("Lua translation", translated), lua("Lua authenticate", authenticate)} {
				proxies[e.name] = testproxy.Start(t, &c, e.start(t, &c))
			}
			for _, tc := range tests {
				t.Run(tc.name, func(t *testing.T) {
					req := socks4Request(v4, tc.user, tc.domain)
					got := map[string]bool{}
					for name, p := range proxies {
						got[name] = socks4Granted(t, p, req)
					}
					want := map[string]bool{
						"route table":      !auth || tc.secrets,
						"Lua translation":  !auth || tc.secrets,
						"Lua authenticate": !auth || tc.authFn,
					}
					for name, g := range got {
						if g != want[name] {
							t.Errorf("%s: granted %t, want %t", name, g, want[name])
						}
					}
				})
			}
		})
	}
}

// socks4Request spells out a SOCKS4 CONNECT to ap, or a SOCKS4A one to
// domain:ap.Port() when domain is set, with the user ID (protocols §3).
func socks4Request(ap netip.AddrPort, user, domain string) []byte {
	b := []byte{4, 1}
	b = binary.BigEndian.AppendUint16(b, ap.Port())
	if domain != "" {
		b = append(b, 0, 0, 0, 1)
	} else {
		ip := ap.Addr().As4()
		b = append(b, ip[:]...)
	}
	b = append(append(b, user...), 0)
	if domain != "" {
		b = append(append(b, domain...), 0)
	}
	return b
}

// socks4Granted sends req to the proxy at p and reports whether it was
// granted; a granted tunnel must reach the echo server.
func socks4Granted(t *testing.T, p string, req []byte) bool {
	t.Helper()
	c, err := net.DialTimeout("tcp", p, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := c.Write(req); err != nil {
		t.Fatal(err)
	}
	reply := make([]byte, 8)
	if _, err := io.ReadFull(c, reply); err != nil {
		t.Fatalf("reply: %v", err)
	}
	switch {
	case bytes.Equal(reply, []byte{0, 0x5b, 0, 0, 0, 0, 0, 0}):
		return false
	case !bytes.Equal(reply, []byte{0, 0x5a, 0, 0, 0, 0, 0, 0}):
		t.Fatalf("reply % x", reply)
	}
	msg := []byte("through\n")
	if _, err := c.Write(msg); err != nil {
		t.Fatal(err)
	}
	back := make([]byte, len(msg))
	if _, err := io.ReadFull(c, back); err != nil || !bytes.Equal(back, msg) {
		t.Fatalf("echo %q: %v", back, err)
	}
	return true
}

func writeFile(t *testing.T, name, text string) {
	t.Helper()
	if err := os.WriteFile(name, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}
