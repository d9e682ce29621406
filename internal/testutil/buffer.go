package testutil

import (
	"bytes"
	"sync"
)

// SyncBuffer is a bytes.Buffer guarded by a mutex: a log sink or process
// output (cmd.Stdout, cmd.Stderr) that several goroutines may write while
// the test reads it. The zero value is ready to use.
type SyncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

// Write appends p to the buffer; it never fails.
func (s *SyncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

// String returns a copy of everything written so far.
func (s *SyncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
