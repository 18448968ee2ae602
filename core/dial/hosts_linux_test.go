package dial

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// mountsEnv carries, to a test run again by inNamespace, the files to
// mount over the system's: "source=target" pairs separated by newlines.
const mountsEnv = "DIAL_HOSTS_ORACLE_MOUNTS"

// inNamespace runs the calling test again in a mount namespace of its own
// (root only), where each file of mounts (target → text) is mounted over
// its target, and reports whether this process is that run: its mounts are
// then in place. Go's resolver reads the mounted files as the system's;
// the machine's own are untouched.
func inNamespace(t *testing.T, mounts map[string]string) bool {
	t.Helper()
	if pairs := os.Getenv(mountsEnv); pairs != "" {
		for _, pair := range strings.Split(pairs, "\n") {
			src, dst, _ := strings.Cut(pair, "=")
			if err := syscall.Mount(src, dst, "", syscall.MS_BIND, ""); err != nil {
				if errors.Is(err, syscall.EPERM) {
					t.Skipf("bind %s: %v (a container without CAP_SYS_ADMIN)", dst, err)
				}
				t.Fatalf("bind %s: %v", dst, err)
			}
		}
		return true
	}
	if os.Getuid() != 0 {
		t.Skip("mounting over the system's resolver files needs root")
	}
	dir := t.TempDir()
	var pairs []string
	for dst, text := range mounts {
		src := filepath.Join(dir, filepath.Base(dst))
		if err := os.WriteFile(src, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		pairs = append(pairs, src+"="+dst)
	}
	// Not -test.v: the run's own "--- PASS" lines, printed inside this
	// test's log, would read as results to a tool that parses the output.
	cmd := exec.Command(os.Args[0], "-test.run", "^"+t.Name()+"$", "-test.count", "1")
	cmd.Env = append(os.Environ(), mountsEnv+"="+strings.Join(pairs, "\n"))
	cmd.SysProcAttr = &syscall.SysProcAttr{Unshareflags: syscall.CLONE_NEWNS}
	out, err := cmd.CombinedOutput()
	if errors.Is(err, syscall.EPERM) {
		// Root without CAP_SYS_ADMIN, as in some containers: no namespace.
		t.Skipf("no mount namespace: %v", err)
	}
	if err != nil {
		t.Fatalf("in a mount namespace: %v\n%s", err, out)
	}
	return false
}

// loopbackResolvConf sends whatever DNS query Go's resolver makes to a
// loopback address where nothing answers: a name the cache answers
// wrongly then fails there instead of asking the machine's nameserver.
const loopbackResolvConf = "nameserver 127.0.0.1\noptions timeout:1 attempts:1\n"

// TestHostsOracle compares the system hosts cache with Go's resolver for
// every name of the machine's hosts file (each also in upper case, with a
// final dot, and with a letter added) and each network: wherever the
// cache answers, the resolver's first answer must be the same. Where the
// system's configuration lets the cache answer at all, it must answer
// some name, and localhost if the file has it. The machine's hosts file
// and nsswitch.conf are used as they are; only resolv.conf is replaced
// by a loopback one, and only where the machine's is one the cache
// accepts (it answers nothing otherwise, which is checked instead).
func TestHostsOracle(t *testing.T) {
	if os.Getenv(mountsEnv) == "" && !resolvConfPlain(etcResolvConf) {
		c := newHostsCache(etcHosts, etcNSSwitch, etcResolvConf)
		if _, ok := c.lookup("localhost", "ip"); ok {
			t.Fatal("answered although resolv.conf sends Go's resolver to the C library's")
		}
		return
	}
	if !inNamespace(t, map[string]string{etcResolvConf: loopbackResolvConf}) {
		return
	}
	c := newHostsCache(etcHosts, etcNSSwitch, etcResolvConf)
	names := oracleNames(t, etcHosts)
	answered := compareWithResolver(t, names, c.lookup)
	s := c.current()
	t.Logf("%d names, %d answers; the order is files first: %v", len(names), answered, s.filesFirst)
	if s.filesFirst && s.table.Len() > 0 && answered == 0 {
		t.Error("files first, but no name of the hosts file was answered")
	}
	if _, ok := c.lookup("localhost", "ip4"); s.filesFirst && !ok {
		if _, inFile := s.table.plain["localhost"]; inFile {
			t.Error("localhost is in the hosts file but was not answered")
		}
	}
}

// TestHostsOracleNamespace compares the hosts cache with Go's resolver on
// syntheticHosts, which has every case the parser knows, mounted over
// /etc/hosts with an nsswitch.conf of "files dns".
func TestHostsOracleNamespace(t *testing.T) {
	if !goEnvFilesFirst() {
		t.Skip("the environment sends Go's resolver elsewhere")
	}
	if !inNamespace(t, map[string]string{
		etcHosts:      syntheticHosts,
		etcNSSwitch:   "hosts: files dns\n",
		etcResolvConf: loopbackResolvConf,
	}) {
		return
	}
	c := newHostsCache(etcHosts, etcNSSwitch, etcResolvConf)
	names := oracleNames(t, etcHosts)
	names = append(names, "unspecified.test", "dual.test", "zones.test", "1.2.3.4.", `back\slash.test`)
	answered := compareWithResolver(t, names, c.lookup)
	if answered < 20 {
		t.Errorf("only %d answers", answered)
	}
	t.Logf("%d names, %d answers", len(names), answered)
}
