package http

import (
	"strconv"

	"github.com/neosocksd-go/neosocksd/core/addr"
)

// Limits of the chunked decoder's framing.
const (
	maxChunkExt = 4096 // bytes of chunk extensions on one size line
	maxTrailer  = 8192 // bytes of trailer fields
)

type chunkState uint8

const (
	csSize      chunkState = iota // chunk-size hex digits
	csSizeWS                      // whitespace after the size
	csExt                         // chunk extension, up to CR
	csSizeLF                      // LF ending the size line
	csData                        // chunk data
	csDataCR                      // CR after the data
	csDataLF                      // LF after the data
	csTrailer                     // start of a trailer line or the final CRLF
	csTrailerLn                   // inside a trailer line
	csTrailerLF                   // LF ending a trailer line
	csFinalLF                     // LF of the final empty line
	csDone
)

// ChunkedDecoder removes chunked transfer coding incrementally. Chunk
// extensions and trailer fields are checked for control bytes and dropped.
// The zero value is ready to decode a new body.
type ChunkedDecoder struct {
	state  chunkState
	digits int
	size   uint64 // remaining data of the current chunk
	extra  int    // bytes of the current extension or of all trailers
}

// Done reports whether the terminating chunk and trailers were consumed.
func (d *ChunkedDecoder) Done() bool { return d.state == csDone }

// Decode consumes bytes of src and returns a run of payload, which is a
// sub-slice of src, and the number of bytes consumed (including the
// payload). It stops after one payload run, at the end of src, or when the
// body is complete; call it again with the rest. Errors wrap ErrMalformed.
func (d *ChunkedDecoder) Decode(src []byte) (payload []byte, n int, err error) {
	for n < len(src) {
		if d.state == csData {
			k := uint64(len(src) - n)
			if k > d.size {
				k = d.size
			}
			payload = src[n : n+int(k)]
			n += int(k)
			if d.size -= k; d.size == 0 {
				d.state = csDataCR
			}
			return payload, n, nil
		}
		c := src[n]
		n++
		switch d.state {
		case csSize:
			if v := addr.Unhex(c); v >= 0 {
				if d.size > 1<<58 {
					return nil, n, malformed("chunk size overflow")
				}
				d.size = d.size<<4 | uint64(v)
				d.digits++
				continue
			}
			if d.digits == 0 {
				return nil, n, malformed("chunk size")
			}
			if err := d.afterSize(c); err != nil {
				return nil, n, err
			}
		case csSizeWS:
			if err := d.afterSize(c); err != nil {
				return nil, n, err
			}
		case csExt:
			if c == '\r' {
				d.state = csSizeLF
				continue
			}
			if d.extra++; d.extra > maxChunkExt || (isCtl(c) && c != '\t') {
				return nil, n, malformed("chunk extension")
			}
		case csSizeLF:
			if c != '\n' {
				return nil, n, malformed("chunk size line")
			}
			d.digits, d.extra = 0, 0
			if d.size == 0 {
				d.state = csTrailer
			} else {
				d.state = csData
			}
		case csDataCR:
			if c != '\r' {
				return nil, n, malformed("chunk data not followed by CRLF")
			}
			d.state = csDataLF
		case csDataLF:
			if c != '\n' {
				return nil, n, malformed("chunk data not followed by CRLF")
			}
			d.state = csSize
		case csTrailer:
			if c == '\r' {
				d.state = csFinalLF
				continue
			}
			d.state = csTrailerLn
			fallthrough
		case csTrailerLn:
			if c == '\r' {
				d.state = csTrailerLF
				continue
			}
			if d.extra++; d.extra > maxTrailer || (isCtl(c) && c != '\t') {
				return nil, n, malformed("chunk trailer")
			}
		case csTrailerLF:
			if c != '\n' {
				return nil, n, malformed("chunk trailer")
			}
			d.state = csTrailer
		case csFinalLF:
			if c != '\n' {
				return nil, n, malformed("chunked body end")
			}
			d.state = csDone
			return nil, n, nil
		case csDone:
			return nil, n - 1, nil
		}
	}
	return nil, n, nil
}

func (d *ChunkedDecoder) afterSize(c byte) error {
	switch c {
	case ' ', '\t':
		d.state = csSizeWS
	case ';':
		d.state = csExt
	case '\r':
		d.state = csSizeLF
	default:
		return malformed("chunk size")
	}
	return nil
}

// AppendChunk appends p as one chunk. An empty p appends nothing, since a
// zero-size chunk would end the body.
func AppendChunk(dst, p []byte) []byte {
	if len(p) == 0 {
		return dst
	}
	dst = strconv.AppendUint(dst, uint64(len(p)), 16)
	dst = append(dst, "\r\n"...)
	dst = append(dst, p...)
	return append(dst, "\r\n"...)
}

// AppendChunkHeader appends the size line of a chunk of n bytes (n > 0);
// the caller sends the data and then "\r\n".
func AppendChunkHeader(dst []byte, n int) []byte {
	dst = strconv.AppendUint(dst, uint64(n), 16)
	return append(dst, "\r\n"...)
}

// LastChunk ends a chunked body with no trailers.
const LastChunk = "0\r\n\r\n"
