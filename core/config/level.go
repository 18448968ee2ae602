package config

import "log/slog"

// The original's log levels as slog levels. Notice sits between Info and
// Warning; Verbose and VeryVerbose below Debug.
const (
	LevelFatal       slog.Level = 12
	LevelError       slog.Level = slog.LevelError // 8
	LevelWarning     slog.Level = slog.LevelWarn  // 4
	LevelNotice      slog.Level = 2
	LevelInfo        slog.Level = slog.LevelInfo  // 0
	LevelDebug       slog.Level = slog.LevelDebug // -4
	LevelVerbose     slog.Level = -8
	LevelVeryVerbose slog.Level = -12
	// LevelSilence is above every level that is ever logged.
	LevelSilence slog.Level = 100
)

// SlogLevel maps --loglevel 0..8 to the lowest slog level that is logged.
func SlogLevel(loglevel int) slog.Level {
	switch {
	case loglevel <= 0:
		return LevelSilence
	case loglevel >= 8:
		return LevelVeryVerbose
	}
	return [...]slog.Level{LevelSilence, LevelFatal, LevelError, LevelWarning, LevelNotice,
		LevelInfo, LevelDebug, LevelVerbose, LevelVeryVerbose}[loglevel]
}

// LevelLetter is the one-letter tag the original prints for a level.
func LevelLetter(l slog.Level) byte {
	switch {
	case l >= LevelFatal:
		return 'F'
	case l >= LevelError:
		return 'E'
	case l >= LevelWarning:
		return 'W'
	case l >= LevelInfo:
		return 'I'
	case l >= LevelDebug:
		return 'D'
	}
	return 'V'
}
