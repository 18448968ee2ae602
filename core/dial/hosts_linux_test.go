package dial

import (
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
)

// oracleChildEnv marks the process TestHostsOracleNamespace starts in a
// mount namespace of its own.
const oracleChildEnv = "DIAL_HOSTS_ORACLE_DIR"

// TestHostsOracleNamespace compares the hosts cache with Go's resolver on
// syntheticHosts, which has every case the parser knows: the test runs
// again in a mount namespace of its own (root only) where that file is
// mounted over /etc/hosts, with an nsswitch.conf of "files dns" and a
// resolv.conf naming only a loopback nameserver, so that Go's resolver
// reads them as the system's.
func TestHostsOracleNamespace(t *testing.T) {
	if dir := os.Getenv(oracleChildEnv); dir != "" {
		for src, dst := range map[string]string{"hosts": etcHosts, "nsswitch.conf": etcNSSwitch, "resolv.conf": etcResolvConf} {
			if err := syscall.Mount(filepath.Join(dir, src), dst, "", syscall.MS_BIND, ""); err != nil {
				t.Fatalf("bind %s: %v", dst, err)
			}
		}
		c := newHostsCache(etcHosts, etcNSSwitch, etcResolvConf)
		names := oracleNames(t, etcHosts)
		names = append(names, "unspecified.test", "dual.test", "zones.test", "1.2.3.4.", "back\\slash.test")
		answered := compareWithResolver(t, names, c.lookup)
		if answered < 20 {
			t.Errorf("only %d answers", answered)
		}
		t.Logf("%d names, %d answers", len(names), answered)
		return
	}
	if os.Getuid() != 0 {
		t.Skip("mounting over /etc/hosts needs root")
	}
	if !goEnvFilesFirst() {
		t.Skip("the environment sends Go's resolver elsewhere")
	}
	dir := t.TempDir()
	for name, text := range map[string]string{
		"hosts":         syntheticHosts,
		"nsswitch.conf": "hosts: files dns\n",
		"resolv.conf":   "nameserver 127.0.0.1\noptions timeout:1 attempts:1\n",
	} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command(os.Args[0], "-test.run", "^TestHostsOracleNamespace$", "-test.v", "-test.count", "1")
	cmd.Env = append(os.Environ(), oracleChildEnv+"="+dir)
	cmd.SysProcAttr = &syscall.SysProcAttr{Unshareflags: syscall.CLONE_NEWNS}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("in a mount namespace: %v\n%s", err, out)
	}
	t.Logf("%s", out)
}
