package config

import (
	"errors"
	"sort"
	"strconv"
	"strings"
)

// Error is one problem found in a configuration file. Load and Parse return
// every problem at once, joined with errors.Join and sorted by line; use
// Problems to get them back, or errors.As for the first one.
type Error struct {
	// File is the file name as given to Load or Parse.
	File string
	// Line is the 1-based line of the problem; 0 when it concerns the whole
	// file (or the file could not be read).
	Line int
	// Path is the setting concerned, e.g. "routes[1].ratelimit[0].rate";
	// empty for the top level.
	Path string
	// Msg says what is wanted and what was given.
	Msg string
}

// Error formats the problem as "FILE:LINE: PATH: MSG", leaving out the
// parts that are empty.
func (e Error) Error() string {
	var b strings.Builder
	if e.File != "" {
		b.WriteString(e.File)
		if e.Line > 0 {
			b.WriteByte(':')
			b.WriteString(strconv.Itoa(e.Line))
		}
		b.WriteString(": ")
	} else if e.Line > 0 {
		b.WriteString("line ")
		b.WriteString(strconv.Itoa(e.Line))
		b.WriteString(": ")
	}
	if e.Path != "" {
		b.WriteString(e.Path)
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// Problems returns the configuration problems inside err, in the order they
// were joined (by line for errors from Load and Parse). An error that is
// not a configuration problem, such as an unreadable file, comes back as
// one Error whose Msg is its text. A nil err gives nil.
func Problems(err error) []Error {
	if err == nil {
		return nil
	}
	var out []Error
	collect(err, &out)
	if len(out) == 0 {
		return []Error{{Msg: err.Error()}}
	}
	return out
}

func collect(err error, out *[]Error) {
	switch e := err.(type) {
	case Error:
		*out = append(*out, e)
		return
	case *Error:
		if e != nil {
			*out = append(*out, *e)
		}
		return
	case interface{ Unwrap() []error }:
		for _, inner := range e.Unwrap() {
			collect(inner, out)
		}
		return
	}
	var e Error
	if errors.As(err, &e) {
		*out = append(*out, e)
	}
}

// joinProblems sorts problems by line (stable, so problems on one line keep
// the order they were found in), drops exact duplicates and joins them.
func joinProblems(errs []Error) error {
	if len(errs) == 0 {
		return nil
	}
	sort.SliceStable(errs, func(i, j int) bool { return errs[i].Line < errs[j].Line })
	seen := make(map[Error]bool, len(errs))
	list := make([]error, 0, len(errs))
	for _, e := range errs {
		if seen[e] {
			continue
		}
		seen[e] = true
		list = append(list, e)
	}
	return errors.Join(list...)
}
