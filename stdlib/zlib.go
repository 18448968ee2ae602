package stdlib

import (
	"bytes"
	"compress/gzip"
	"compress/zlib"
	"errors"
	"io"

	lua "github.com/yuin/gopher-lua"
)

// OpenZlib returns a new zlib library table: compress/uncompress (RFC 1950)
// and gzip/gunzip (RFC 1952, concatenated members accepted). Corrupt input
// raises a string error.
func OpenZlib(L *lua.LState) *lua.LTable {
	t := L.NewTable()
	L.SetFuncs(t, map[string]lua.LGFunction{
		"compress":   zlibCompress,
		"uncompress": zlibUncompress,
		"gzip":       zlibGzip,
		"gunzip":     zlibGunzip,
	})
	return t
}

// Compress returns s in zlib format.
func Compress(s []byte) []byte {
	out, _ := compress(s, budgetPoll{}, zlibWriter)
	return out
}

// Uncompress inverts Compress.
func Uncompress(z []byte) ([]byte, error) {
	return uncompress(z, budgetPoll{}, zlibReader)
}

func zlibWriter(w io.Writer) io.WriteCloser { return zlib.NewWriter(w) }
func gzipWriter(w io.Writer) io.WriteCloser { return gzip.NewWriter(w) }

func zlibReader(r io.Reader) (io.ReadCloser, error) { return zlib.NewReader(r) }
func gzipReader(r io.Reader) (io.ReadCloser, error) { return gzip.NewReader(r) }

// zlibChunk is how much input compress hands the compressor between two
// polls of the budget: about a millisecond of work.
const zlibChunk = 64 << 10

// compress writes s through the compressor made by newW, a chunk at a
// time; it fails with errBudgetEnded once poll reports the end.
func compress(s []byte, poll budgetPoll, newW func(io.Writer) io.WriteCloser) ([]byte, error) {
	var b bytes.Buffer
	w := newW(&b)
	for len(s) > 0 {
		if poll.ended() {
			return nil, errBudgetEnded{}
		}
		n := min(len(s), zlibChunk)
		w.Write(s[:n]) // writes to a bytes.Buffer cannot fail
		s = s[n:]
	}
	w.Close()
	return b.Bytes(), nil
}

// uncompress reads z through the decompressor made by newR, polling the
// budget between reads. The output is collected in chunks and joined once
// at the end: growing one buffer would copy everything read so far at each
// doubling, a pause the poll cannot cut short when a bomb has produced a
// gigabyte.
func uncompress(z []byte, poll budgetPoll, newR func(io.Reader) (io.ReadCloser, error)) ([]byte, error) {
	r, err := newR(bytes.NewReader(z))
	if err != nil {
		return nil, err
	}
	var chunks [][]byte
	total, size := 0, 4<<10
	for {
		if poll.ended() {
			return nil, errBudgetEnded{}
		}
		c := make([]byte, size)
		size = min(2*size, 1<<20)
		n := 0
		for n < len(c) && err == nil {
			var k int
			k, err = r.Read(c[n:])
			n += k
		}
		chunks = append(chunks, c[:n])
		total += n
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
	}
	out := make([]byte, 0, total)
	for _, c := range chunks {
		out = append(out, c...)
	}
	return out, r.Close()
}

// zlibCall runs one zlib function on argument 1 and pushes its result:
// a blown budget raises the budget error, any other failure "<what>
// error: ...".
func zlibCall(L *lua.LState, what string, f func([]byte, budgetPoll) ([]byte, error)) int {
	out, err := f([]byte(L.CheckString(1)), pollOf(L))
	if errors.Is(err, errBudgetEnded{}) {
		raiseBudget(L)
	}
	if err != nil {
		L.RaiseError("%s error: %v", what, err)
	}
	L.Push(lua.LString(out))
	return 1
}

func zlibCompress(L *lua.LState) int {
	return zlibCall(L, "compress", func(s []byte, p budgetPoll) ([]byte, error) { return compress(s, p, zlibWriter) })
}

func zlibUncompress(L *lua.LState) int {
	return zlibCall(L, "uncompress", func(z []byte, p budgetPoll) ([]byte, error) { return uncompress(z, p, zlibReader) })
}

func zlibGzip(L *lua.LState) int {
	return zlibCall(L, "gzip", func(s []byte, p budgetPoll) ([]byte, error) { return compress(s, p, gzipWriter) })
}

func zlibGunzip(L *lua.LState) int {
	return zlibCall(L, "gunzip", func(z []byte, p budgetPoll) ([]byte, error) { return uncompress(z, p, gzipReader) })
}
