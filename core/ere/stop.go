package ere

import (
	"errors"
	"io"
)

// ErrStopped is returned by the Stop variants of the search methods when
// their stop channel closed before the search ended.
var ErrStopped = errors.New("ere: search stopped")

// smallSubject is the subject length up to which the Stop variants run the
// plain search: the linear engine spends time proportional to the subject
// times the program, and programs RE2 accepts stay within tens of
// milliseconds on this much input. Longer subjects are fed through a
// reader that polls the stop channel, at the price of the engine's
// slower reader path (no literal prefix scan, no one-pass engine).
const smallSubject = 1 << 10

// pollBytes is how many subject bytes the reader hands out between two
// polls of the stop channel.
const pollBytes = 1 << 8

// FindIndexStop is FindIndex with a way out: once stop is closed, a long
// search ends with ErrStopped. A nil stop never stops it. Patterns on the
// backtracking engine keep their own MatchTimeout.
func (re *Regexp) FindIndexStop(s string, stop <-chan struct{}) ([]int, error) {
	if re.bt != nil || stop == nil || len(s) <= smallSubject {
		return re.FindIndex(s)
	}
	r := &stopReader{s: s, stop: stop}
	idx := re.re.FindReaderIndex(r)
	if r.stopped {
		return nil, ErrStopped
	}
	return idx, nil
}

// FindSubmatchIndexStop is FindSubmatchIndex with a way out, as
// FindIndexStop.
func (re *Regexp) FindSubmatchIndexStop(s string, stop <-chan struct{}) ([]int, error) {
	if re.bt != nil || stop == nil || len(s) <= smallSubject {
		return re.FindSubmatchIndex(s)
	}
	return re.findReaderSubmatch(s, stop)
}

// findReaderSubmatch is the reader path of FindSubmatchIndexStop, with the
// same replay of glibc's submatch rules as FindSubmatchIndex.
func (re *Regexp) findReaderSubmatch(s string, stop <-chan struct{}) ([]int, error) {
	r := &stopReader{s: s, stop: stop}
	idx := re.re.FindReaderSubmatchIndex(r)
	if r.stopped {
		return nil, ErrStopped
	}
	if idx != nil && re.posix != nil {
		if regs := re.posix.resolve(s, idx[0], idx[1]); regs != nil {
			return regs, nil
		}
	}
	return idx, nil
}

// stopReader hands a subject to the linear engine one byte per rune, the
// rune of the byte's value with size 1: what widen does, without the copy,
// and with offsets that are byte offsets already. Once stop is closed it
// ends the input early and records that the result is void.
type stopReader struct {
	s       string
	i       int
	stop    <-chan struct{}
	stopped bool
}

func (r *stopReader) ReadRune() (rune, int, error) {
	if r.i >= len(r.s) {
		return 0, 0, io.EOF
	}
	if r.i%pollBytes == 0 {
		select {
		case <-r.stop:
			r.stopped = true
			return 0, 0, io.EOF
		default:
		}
	}
	c := r.s[r.i]
	r.i++
	return rune(c), 1, nil
}
