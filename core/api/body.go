package api

import (
	"bytes"
	"errors"
	"io"

	"github.com/neosocksd-go/neosocksd/core/proto/rpc"
)

// errBodyTooLarge is a Content-Encoding body that decodes to more than
// MaxBody bytes (413).
var errBodyTooLarge = errors.New("api: decoded body is larger than the limit")

// bodyIOError is a failure to receive the body from the client, as opposed
// to a body that arrived but does not decode: the connection is dead and
// gets no answer.
type bodyIOError struct{ err error }

func (e *bodyIOError) Error() string { return "api: read body: " + e.err.Error() }
func (e *bodyIOError) Unwrap() error { return e.err }

// readEncodedBody receives an n-byte body in the given Content-Encoding
// ("deflate" or "gzip") and returns it decoded.
//
// The body is inflated while it arrives, counting the output and throwing
// it away, so that a body decoding to more than MaxBody is refused after
// only as much input as shows it: a compression bomb costs its first few
// KiB and a decoder's window, not its decoded size, however many arrive at
// once. A body within the limit is kept compressed meanwhile and decoded a
// second time into a buffer of exactly its size. The decoders are
// core/proto/rpc's, which the RPC client uses too.
func (cc *conn) readEncodedBody(n int64, encoding string) ([]byte, error) {
	src := &bodySource{cc: cc, left: n}
	size, err := decodedSize(src, encoding)
	if src.err != nil {
		return nil, &bodyIOError{src.err}
	}
	if err != nil {
		return nil, err
	}
	// What follows the compressed stream is still part of the body: read
	// it so that the next request starts where it should.
	if _, err := io.Copy(io.Discard, src); err != nil {
		return nil, &bodyIOError{err}
	}
	zr, err := rpc.NewReader(bytes.NewReader(src.raw), encoding)
	if err != nil {
		return nil, err
	}
	out := make([]byte, size)
	if _, err := io.ReadFull(zr, out); err != nil {
		return nil, err
	}
	return out, nil
}

// decodedSize inflates r and returns how many bytes it decodes to, or
// errBodyTooLarge as soon as that passes MaxBody.
func decodedSize(r io.Reader, encoding string) (int64, error) {
	zr, err := rpc.NewReader(r, encoding)
	if err != nil {
		return 0, err
	}
	size, err := io.Copy(io.Discard, io.LimitReader(zr, MaxBody+1))
	switch {
	case err != nil:
		return 0, err
	case size > MaxBody:
		return 0, errBodyTooLarge
	}
	return size, nil
}

// bodySource reads the next left bytes of a request body from the
// connection, first from what is buffered, and keeps a copy of them in
// raw. A failure of the connection is kept in err, so that it is told
// apart from a body that does not decode.
type bodySource struct {
	cc   *conn
	left int64
	raw  []byte
	err  error
}

func (b *bodySource) Read(p []byte) (int, error) {
	if b.err != nil {
		return 0, b.err
	}
	if b.left == 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > b.left {
		p = p[:b.left]
	}
	var k int
	if len(b.cc.buf) > 0 {
		k = copy(p, b.cc.buf)
		b.cc.buf = b.cc.buf[:copy(b.cc.buf, b.cc.buf[k:])]
	} else {
		var err error
		k, err = b.cc.read(p)
		if k == 0 {
			if err == nil || err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			b.err = err
			return 0, err
		}
	}
	b.left -= int64(k)
	b.raw = append(b.raw, p[:k]...)
	return k, nil
}
