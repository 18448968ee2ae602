package dial

import (
	"errors"
	"io/fs"
	"net/netip"
	"os"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// The system resolver's files. Go's resolver reads these paths on Unix
// systems; the system hosts cache reads them too.
const (
	etcHosts      = "/etc/hosts"
	etcNSSwitch   = "/etc/nsswitch.conf"
	etcResolvConf = "/etc/resolv.conf"
)

// hostsRecheck is how long a read of the files is trusted before they are
// looked at again: the interval at which Go's resolver re-checks its own
// copies of them.
const hostsRecheck = 5 * time.Second

// systemHosts is the hosts file of the system resolver, shared by every
// Dialer that uses that resolver: a reload builds a new Dialer but not a
// new copy of the file.
var systemHosts = newHostsCache(etcHosts, etcNSSwitch, etcResolvConf)

// hostsCache answers names from a hosts file where Go's resolver would
// answer them from it, without the resolver's goroutine, singleflight
// group and address lists. It keeps the file parsed and looks at the
// files again (stat, and a re-read if one changed) at most every
// hostsRecheck, so that a lookup costs a clock read, an atomic load and a
// map access.
//
// Whether Go's resolver consults the hosts file first is its "lookup
// order", which depends on nsswitch.conf, resolv.conf, the environment
// and the build. The cache answers only in the plainest case, and leaves
// every other to the resolver (which then answers exactly as before):
//   - Linux, a build without the netcgo tag, no netdns setting in GODEBUG,
//     and none of LOCALDOMAIN, RES_OPTIONS and HOSTALIASES set (each of
//     which sends Go to the C library's resolver when it has one);
//   - nsswitch.conf present, its "hosts" sources "files" first and
//     otherwise only "files" and "dns", with no [STATUS=ACTION] criteria
//     anywhere (Go lets the C library decide those, and for myhostname,
//     mdns and other sources it depends on the name and on cgo; a missing
//     nsswitch.conf is also left to the resolver);
//   - resolv.conf absent, unreadable for permission, or holding only
//     keywords and options Go knows (with an unknown one Go uses the C
//     library's resolver when it has one).
//
// Go's resolver re-reads these files on its own schedule, so for up to
// hostsRecheck after one of them changes the two may answer a name
// differently, as two lookups through Go's resolver itself may.
type hostsCache struct {
	hosts, nsswitch, resolvConf string
	// clock returns monotonic nanoseconds; tests replace it.
	clock func() int64

	snap  atomic.Pointer[hostsSnapshot]
	check atomic.Int64 // clock() from which the files must be looked at again
	mu    sync.Mutex   // held by the one goroutine that looks at them
}

// hostsSnapshot is one reading of the files.
type hostsSnapshot struct {
	table *HostsTable // nil unless the hosts file was read
	// filesFirst: nsswitch.conf and resolv.conf let Go's resolver answer
	// from the hosts file before anything else.
	filesFirst bool
	// The files' identity when they were read, to tell whether they
	// changed.
	hostsID, nssID, resolvID fileID
}

// fileID is what tells that a file changed: Go's resolver compares the
// modification time and the size.
type fileID struct {
	mtime  time.Time
	size   int64
	exists bool
}

var clockStart = time.Now()

// monotonic returns the monotonic clock in nanoseconds since the process
// started using this package.
func monotonic() int64 { return int64(time.Since(clockStart)) }

func newHostsCache(hosts, nsswitch, resolvConf string) *hostsCache {
	return &hostsCache{hosts: hosts, nsswitch: nsswitch, resolvConf: resolvConf, clock: monotonic}
}

// lookup returns the answer of the hosts file for name and network ("ip",
// "ip4" or "ip6") and true, or false where the resolver must answer.
func (c *hostsCache) lookup(name, network string) (netip.Addr, bool) {
	if c == nil {
		return netip.Addr{}, false
	}
	s := c.current()
	if s == nil || !s.filesFirst {
		return netip.Addr{}, false
	}
	return s.table.Lookup(name, network)
}

// current returns the latest reading, looking at the files again first if
// it is time to. One goroutine looks; the others go on with the previous
// reading meanwhile (nil before the first: the resolver answers).
func (c *hostsCache) current() *hostsSnapshot {
	now := c.clock()
	if now >= c.check.Load() && c.mu.TryLock() {
		// Checked again under the lock: another goroutine may have just
		// looked.
		if now >= c.check.Load() {
			c.snap.Store(c.refresh(c.snap.Load()))
			c.check.Store(c.clock() + int64(hostsRecheck))
		}
		c.mu.Unlock()
	}
	return c.snap.Load()
}

// refresh returns a reading of the files, reusing old's parts whose files
// did not change.
func (c *hostsCache) refresh(old *hostsSnapshot) *hostsSnapshot {
	s := &hostsSnapshot{hostsID: statID(c.hosts), nssID: statID(c.nsswitch), resolvID: statID(c.resolvConf)}
	if old != nil && old.hostsID == s.hostsID && old.table != nil {
		s.table = old.table
	} else if t, err := ReadHosts(c.hosts); err == nil {
		s.table = t
	}
	if old != nil && old.nssID == s.nssID && old.resolvID == s.resolvID {
		s.filesFirst = old.filesFirst
	} else {
		s.filesFirst = goEnvFilesFirst() && nsswitchFilesFirst(c.nsswitch) && resolvConfPlain(c.resolvConf)
	}
	return s
}

func statID(path string) fileID {
	fi, err := os.Stat(path)
	if err != nil {
		return fileID{}
	}
	return fileID{mtime: fi.ModTime(), size: fi.Size(), exists: true}
}

// goEnvFilesFirst reports whether the build and the environment leave
// Go's resolver to choose its order from the files (see hostsCache).
// Go reads them once; so does this. A netdns default set by a
// //go:debug directive or a godebug line of go.mod is not seen here: the
// daemon's main package and module have none.
var goEnvFilesFirst = sync.OnceValue(func() bool {
	if runtime.GOOS != "linux" || netcgoTag {
		return false
	}
	if strings.Contains(os.Getenv("GODEBUG"), "netdns") {
		return false // go, cgo or a debug level: all left to the resolver
	}
	if _, set := os.LookupEnv("LOCALDOMAIN"); set {
		return false
	}
	return os.Getenv("RES_OPTIONS") == "" && os.Getenv("HOSTALIASES") == ""
})

// nsswitchFilesFirst reports whether the nsswitch.conf at path has Go's
// resolver read the hosts file first, in the plain form the cache
// recognises (see hostsCache), parsed the way Go parses it.
func nsswitchFilesFirst(path string) bool {
	data, err := os.ReadFile(path)
	if err != nil {
		return false
	}
	var sources []string
	ok := true
	eachLine(data, func(b []byte) {
		line := string(b)
		if i := strings.IndexByte(line, '#'); i >= 0 {
			line = line[:i]
		}
		line = trimConfSpace(line)
		if line == "" || !ok {
			return
		}
		db, srcs, found := strings.Cut(line, ":")
		if !found || strings.IndexByte(line, '[') >= 0 {
			ok = false // a line Go refuses, or criteria
			return
		}
		if trimConfSpace(db) != "hosts" {
			return
		}
		// Go splits sources at single spaces only: "files\tdns" is one
		// source it does not know.
		for srcs = trimConfSpace(srcs); srcs != ""; {
			src, rest, _ := strings.Cut(srcs, " ")
			sources = append(sources, src)
			srcs = trimConfSpace(rest)
		}
	})
	if !ok || len(sources) == 0 || sources[0] != "files" {
		return false
	}
	for _, s := range sources {
		if s != "files" && s != "dns" {
			return false
		}
	}
	return true
}

// trimConfSpace trims the bytes Go's configuration parsers count as
// space.
func trimConfSpace(s string) string {
	return strings.Trim(s, " \t\n\r")
}

// resolvConfPlain reports whether the resolv.conf at path holds nothing
// that would send Go's resolver to the C library's: a file that cannot be
// read for a reason other than its absence or its permissions, a keyword
// Go does not know, or an option it does not know.
func resolvConfPlain(path string) bool {
	data, err := os.ReadFile(path)
	if err != nil {
		return errors.Is(err, fs.ErrNotExist) || errors.Is(err, fs.ErrPermission)
	}
	ok := true
	var fields []string
	eachLine(data, func(line []byte) {
		if len(line) > 0 && (line[0] == ';' || line[0] == '#') {
			return
		}
		fields = splitFields(fields[:0], string(line))
		if len(fields) == 0 {
			return
		}
		switch fields[0] {
		case "nameserver", "domain", "search", "lookup":
		case "options":
			for _, o := range fields[1:] {
				ok = ok && knownResolvOption(o)
			}
		default:
			ok = false
		}
	})
	return ok
}

// knownResolvOption reports whether Go's resolver knows the resolv.conf
// option o.
func knownResolvOption(o string) bool {
	switch o {
	case "rotate", "single-request", "single-request-reopen", "use-vc", "usevc", "tcp",
		"trust-ad", "edns0", "no-reload":
		return true
	}
	return strings.HasPrefix(o, "ndots:") || strings.HasPrefix(o, "timeout:") || strings.HasPrefix(o, "attempts:")
}
