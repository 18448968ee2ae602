//go:build !linux

package splice

import (
	"io"
	"net"
)

// Available reports whether splice can be used on this system: never
// outside Linux.
func Available() bool { return false }

// Copy is io.Copy outside Linux (see the Linux documentation).
func Copy(dst, src *net.TCPConn) (int64, error) { return CopyProgress(dst, src, nil) }

// CopyProgress is io.Copy outside Linux, reporting each write to progress.
func CopyProgress(dst, src *net.TCPConn, progress func(n int64)) (int64, error) {
	if dst == nil || src == nil {
		return 0, ErrNilConn
	}
	if progress == nil {
		return io.Copy(dst, src)
	}
	return io.Copy(progressWriter{dst, progress}, src)
}

type progressWriter struct {
	w        io.Writer
	progress func(int64)
}

func (pw progressWriter) Write(b []byte) (int, error) {
	n, err := pw.w.Write(b)
	if n > 0 {
		pw.progress(int64(n))
	}
	return n, err
}

// CopyBursts is io.Copy outside Linux, reporting each write to progress.
func CopyBursts(dst, src *net.TCPConn, progress func(n int64)) (int64, error) {
	return CopyProgress(dst, src, progress)
}

// CloseWrite is c.CloseWrite outside Linux.
func CloseWrite(c *net.TCPConn) error { return c.CloseWrite() }

// SetPipeSize does nothing outside Linux.
func SetPipeSize(bytes int) {}

// SetPoolSize does nothing outside Linux.
func SetPoolSize(n int) {}

// Release does nothing outside Linux.
func Release() {}
