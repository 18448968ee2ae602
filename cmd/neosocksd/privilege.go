package main

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"os/user"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
)

// identity is the parsed -u argument.
type identity struct {
	uid, gid       int
	setUID, setGID bool
}

// parseIdentity resolves "[user][:[group]]" the way the original does:
// numbers are taken literally, names are looked up, "user:" takes the
// user's primary group.
func parseIdentity(spec string) (identity, error) {
	var id identity
	if len(spec) >= 1024 {
		return id, errors.New("user name too long")
	}
	name, group, hasColon := strings.Cut(spec, ":")
	if name == "" && group == "" {
		return id, errors.New("neither user nor group specified")
	}
	var primaryGID string
	if name != "" {
		if n, err := strconv.Atoi(name); err == nil && n >= 0 {
			id.uid, id.setUID = n, true
			if u, err := user.LookupId(name); err == nil {
				primaryGID = u.Gid
			}
		} else {
			u, err := user.Lookup(name)
			if err != nil {
				return id, fmt.Errorf("unknown user %q: %w", name, err)
			}
			id.uid, _ = strconv.Atoi(u.Uid)
			id.setUID, primaryGID = true, u.Gid
		}
	}
	switch {
	case group != "":
		if n, err := strconv.Atoi(group); err == nil && n >= 0 {
			id.gid = n
		} else {
			g, err := user.LookupGroup(group)
			if err != nil {
				return id, fmt.Errorf("unknown group %q: %w", group, err)
			}
			id.gid, _ = strconv.Atoi(g.Gid)
		}
		id.setGID = true
	case hasColon:
		if primaryGID == "" {
			return id, fmt.Errorf("cannot find the primary group of user %q", name)
		}
		id.gid, _ = strconv.Atoi(primaryGID)
		id.setGID = true
	}
	return id, nil
}

// dropPrivileges switches to id: supplementary groups cleared, then the
// group, then the user. Go applies these to every thread of the process.
// Any failure is returned; the caller must exit rather than keep running
// with the old credentials.
func dropPrivileges(id identity) error {
	if err := syscall.Setgroups(nil); err != nil {
		return fmt.Errorf("setgroups: %w", err)
	}
	if id.setGID {
		if err := syscall.Setgid(id.gid); err != nil {
			return fmt.Errorf("setgid %d: %w", id.gid, err)
		}
	}
	if id.setUID {
		if err := syscall.Setuid(id.uid); err != nil {
			return fmt.Errorf("setuid %d: %w", id.uid, err)
		}
	}
	return nil
}

// daemonEnv marks the re-executed daemon process; its value is the
// descriptor of the readiness pipe. The start-up log pipe is the next
// descriptor, daemonLogFD.
const daemonEnv = "NEOSOCKSD_DAEMON_READY_FD"

// daemonLogFD is the daemon's end of the start-up log pipe: until it is
// ready, the daemon copies its log there, and a parent whose daemon
// exits before it was ready prints that log (the reason) to its stderr.
const daemonLogFD = 4

// earlyLogLimit bounds how much start-up log the parent keeps.
const earlyLogLimit = 64 << 10

// isDaemonChild reports whether this process is the re-executed daemon.
func isDaemonChild() bool { return os.Getenv(daemonEnv) != "" }

// daemonError is a daemon that exited before it was ready, with what it
// logged until then.
type daemonError struct {
	status string // how the process ended, e.g. "exit status 1"
	output []byte // its start-up log, as formatted records
}

func (e *daemonError) Error() string {
	msg := "daemon process exited before it was ready (" + e.status + ")"
	if len(e.output) == 0 {
		msg += "; see syslog"
	}
	return msg
}

// daemonize re-executes the program in a new session with its standard
// streams on /dev/null (Go cannot fork), then waits until the child says it
// is ready. It returns the child's pid; the parent then exits 0.
//
// The child reports readiness after its listeners are bound, later than the
// original (which reports before loading scripts): a daemon that cannot
// start makes the parent fail visibly instead of exiting 0, with a
// *daemonError holding what the daemon logged, so that the reason is not
// lost on a system without syslog.
func daemonize() (int, error) {
	r, w, err := os.Pipe()
	if err != nil {
		return 0, err
	}
	defer r.Close()
	lr, lw, err := os.Pipe()
	if err != nil {
		w.Close()
		return 0, err
	}
	defer lr.Close()
	null, err := os.OpenFile(os.DevNull, os.O_RDWR, 0)
	if err != nil {
		w.Close()
		lw.Close()
		return 0, err
	}
	defer null.Close()
	exe, err := os.Executable()
	if err != nil {
		w.Close()
		lw.Close()
		return 0, err
	}
	cmd := exec.Command(exe, os.Args[1:]...)
	cmd.Env = append(os.Environ(), daemonEnv+"=3")
	cmd.Stdin, cmd.Stdout, cmd.Stderr = null, null, null
	cmd.ExtraFiles = []*os.File{w, lw} // descriptors 3 and daemonLogFD
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	err = cmd.Start()
	w.Close()
	lw.Close()
	if err != nil {
		return 0, err
	}
	early := make(chan []byte, 1)
	go func() {
		b, _ := io.ReadAll(io.LimitReader(lr, earlyLogLimit))
		early <- b
	}()
	var b [1]byte
	if n, _ := r.Read(b[:]); n == 1 {
		pid := cmd.Process.Pid // before Release, which forgets it
		return pid, cmd.Process.Release()
	}
	// The daemon has ended (or closed both pipes, which it does only
	// by exiting): its log is complete once the pipe reports EOF.
	status := "unknown status"
	if err := cmd.Wait(); err != nil {
		status = err.Error()
	}
	return 0, &daemonError{status: status, output: <-early}
}

// daemonLogger is the daemon's logger: the system log when there is
// one, and until startedUp is called, also the start-up log pipe to the
// parent in the --log-format given. Without a system log the daemon's
// records are dropped once it is ready, as the original's go to
// /dev/null.
func daemonLogger(format string, level *slog.LevelVar) (log *slog.Logger, startedUp func()) {
	pipe := os.NewFile(daemonLogFD, "start-up log")
	syscall.CloseOnExec(daemonLogFD) // no child of the daemon holds it open
	closed := new(atomic.Bool)
	handlers := []slog.Handler{gatedHandler{streamHandler(pipe, format, level, false), closed}}
	if h, err := newSyslogHandler(level); err == nil {
		handlers = append(handlers, h)
	}
	return slog.New(slog.NewMultiHandler(handlers...)), func() {
		closed.Store(true)
		pipe.Close()
	}
}

// notifyDaemonParent tells the waiting parent that the daemon is ready.
func notifyDaemonParent() {
	if fd := os.Getenv(daemonEnv); fd != "" {
		n, err := strconv.Atoi(fd)
		if err != nil {
			return
		}
		f := os.NewFile(uintptr(n), "ready")
		f.Write([]byte{1})
		f.Close()
		os.Unsetenv(daemonEnv)
	}
}

// sdNotify sends a state string to systemd when NOTIFY_SOCKET is set. The
// net package maps a leading '@' to Linux's abstract socket namespace, as
// systemd means it, and builds on every system.
func sdNotify(state string) {
	path := os.Getenv("NOTIFY_SOCKET")
	if path == "" {
		return
	}
	c, err := net.DialUnix("unixgram", nil, &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		return
	}
	defer c.Close()
	c.Write([]byte(state))
}
