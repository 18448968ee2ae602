package load

import (
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/neosocksd-go/neosocksd/core/testkit"
)

// The client against independent implementations of the protocols:
// microsocks for SOCKS5, tinyproxy for HTTP CONNECT.
func TestAgainstOtherProxies(t *testing.T) {
	port := startSink(t)
	t.Run("microsocks", func(t *testing.T) {
		n := testkit.FreePort(t)
		p := strconv.Itoa(n)
		addr := "127.0.0.1:" + p
		testkit.StartProgram(t, n, "microsocks", "-i", "127.0.0.1", "-p", p)
		for _, proto := range []Proto{SOCKS5IP, SOCKS5Host} {
			if err := newClient(t, proto, addr, "", port).Check(); err != nil {
				t.Errorf("%s: %v", proto, err)
			}
		}
	})
	t.Run("tinyproxy", func(t *testing.T) {
		n := testkit.FreePort(t)
		p := strconv.Itoa(n)
		addr := "127.0.0.1:" + p
		conf := filepath.Join(t.TempDir(), "tinyproxy.conf")
		// the client's source addresses are spread over 127.0.1.0/24
		text := "Port " + p + "\nListen 127.0.0.1\nAllow 127.0.0.0/8\nLogLevel Error\nMaxClients 16\n"
		if err := os.WriteFile(conf, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		testkit.StartProgram(t, n, "tinyproxy", "-d", "-c", conf)
		for _, proto := range []Proto{HTTP, HTTPIP} {
			if err := newClient(t, proto, addr, addr, port).Check(); err != nil {
				t.Errorf("%s: %v", proto, err)
			}
		}
	})
}
