package proc

import (
	"path/filepath"
	"strings"
	"testing"
)

// A process's exit and its output's tail; a program that cannot start.
func TestStartExitAndLogTail(t *testing.T) {
	dir := t.TempDir()
	p, err := Start("quitter", filepath.Join(dir, "out.log"), false, "/bin/sh", "-c", "echo one; echo two; exit 3")
	if err != nil {
		t.Fatal(err)
	}
	<-p.Done()
	if !p.Exited() || p.Err() == nil || !strings.Contains(p.Err().Error(), "exit status 3") {
		t.Fatalf("exited %v, err %v", p.Exited(), p.Err())
	}
	if got := p.LogTail(1); got != "two" {
		t.Fatalf("LogTail(1) = %q", got)
	}
	if _, err := Start("missing", filepath.Join(dir, "m.log"), true, filepath.Join(dir, "no-such-program")); err == nil {
		t.Fatal("starting a missing program succeeded")
	}
	if addr, err := FreeAddr(); err != nil || !strings.HasPrefix(addr, "127.0.0.1:") {
		t.Fatalf("FreeAddr = %q, %v", addr, err)
	}
}
