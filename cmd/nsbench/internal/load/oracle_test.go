package load

import (
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/neosocksd-go/neosocksd/cmd/nsbench/internal/loopback"
)

// freePort returns a loopback port that was free a moment ago.
func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
}

// startProgram runs an installed proxy until the end of the test and
// waits until it listens on addr; without the program the test is
// skipped.
func startProgram(t *testing.T, addr string, name string, args ...string) {
	t.Helper()
	path, err := exec.LookPath(name)
	if err != nil {
		t.Skipf("%s is not installed", name)
	}
	cmd := exec.Command(path, args...)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	if err := loopback.WaitPort(addr, 10*time.Second); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
}

// The client against independent implementations of the protocols:
// microsocks for SOCKS5, tinyproxy for HTTP CONNECT.
func TestAgainstOtherProxies(t *testing.T) {
	port := startSink(t)
	t.Run("microsocks", func(t *testing.T) {
		p := freePort(t)
		addr := "127.0.0.1:" + p
		startProgram(t, addr, "microsocks", "-i", "127.0.0.1", "-p", p)
		for _, proto := range []Proto{SOCKS5IP, SOCKS5Host} {
			if err := newClient(t, proto, addr, "", port).Check(); err != nil {
				t.Errorf("%s: %v", proto, err)
			}
		}
	})
	t.Run("tinyproxy", func(t *testing.T) {
		p := freePort(t)
		addr := "127.0.0.1:" + p
		conf := filepath.Join(t.TempDir(), "tinyproxy.conf")
		// the client's source addresses are spread over 127.0.1.0/24
		text := "Port " + p + "\nListen 127.0.0.1\nAllow 127.0.0.0/8\nLogLevel Error\nMaxClients 16\n"
		if err := os.WriteFile(conf, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		startProgram(t, addr, "tinyproxy", "-d", "-c", conf)
		for _, proto := range []Proto{HTTP, HTTPIP} {
			if err := newClient(t, proto, addr, addr, port).Check(); err != nil {
				t.Errorf("%s: %v", proto, err)
			}
		}
	})
}
