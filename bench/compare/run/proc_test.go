package main

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestParseStat(t *testing.T) {
	t.Parallel()
	tail := " S 42 100 100 0 -1 4194560 500 0 0 0 7 3 0 0 20 0 4 0 12345 0 0\n"
	want := procStat{state: 'S', ppid: 42, pgrp: 100, ticks: 10}
	tests := []struct {
		name    string
		line    string
		want    procStat
		wantErr bool
	}{
		{"plain", "1234 (varnishd)" + tail, want, false},
		{"spaces and parens in the name", "1234 (cache (worker) x)" + tail, want, false},
		{"no parenthesis", "1234 varnishd S 1", procStat{}, true},
		{"too short", "1234 (x) S 1 2 3", procStat{}, true},
		{"not numbers", "1234 (x) S a 1 1 1 1 1 1 1 1 1 b c", procStat{}, true},
	}
	for _, tt := range tests {
		got, err := parseStat([]byte(tt.line))
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("%s: got %+v, %v; want %+v, error %v", tt.name, got, err, tt.want, tt.wantErr)
		}
	}
}

// TestProcTree starts a shell with two children, measures the tree's CPU
// and stops the whole group.
func TestProcTree(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	// The first child burns CPU until stopped; the second sleeps.
	script := `while :; do :; done & sleep 30 & echo started; wait`
	p, err := startProc("tree", "", -1, filepath.Join(dir, "out.log"), "/bin/sh", "-c", script)
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	var cpu time.Duration
	for cpu == 0 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond) // polling a counter of another process
		cpu, err = p.CPU()
		if err != nil {
			t.Fatal(err)
		}
	}
	if cpu == 0 {
		t.Fatal("no CPU time seen for the process tree")
	}
	children := descendants(t, p.Pid())
	p.Stop(2 * time.Second)
	if !p.Exited() {
		t.Fatal("process still running after Stop")
	}
	if len(children) != 2 {
		t.Errorf("%d children seen, want 2", len(children))
	}
	for _, c := range children {
		b, err := os.ReadFile("/proc/" + strconv.Itoa(c) + "/stat")
		if err != nil {
			continue // gone
		}
		// A zombie waits for its reaper; only a living child is a failure.
		if st, err := parseStat(b); err == nil && st.state != 'Z' {
			t.Errorf("child %d survived Stop (state %c)", c, st.state)
		}
	}
	if !strings.Contains(p.LogTail(5), "started") {
		t.Errorf("log tail %q, want the script's output", p.LogTail(5))
	}
}

func descendants(t *testing.T, pid int) []int {
	t.Helper()
	entries, _ := os.ReadDir("/proc")
	var out []int
	for _, e := range entries {
		b, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		st, err := parseStat(b)
		if err == nil && int(st.ppid) == pid {
			if n, err := strconv.Atoi(e.Name()); err == nil {
				out = append(out, n)
			}
		}
	}
	return out
}

func TestWaitListening(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	p, err := startProc("quitter", "", -1, filepath.Join(dir, "out.log"), "/bin/sh", "-c", "echo cannot bind; exit 3")
	if err != nil {
		t.Fatal(err)
	}
	err = p.waitListening(unusedAddr(t), 5*time.Second)
	if err == nil || !strings.Contains(err.Error(), "exited") || !strings.Contains(err.Error(), "cannot bind") {
		t.Fatalf("err = %v, want the exit and the process output", err)
	}
}

func TestTreeCPUMissing(t *testing.T) {
	t.Parallel()
	if _, err := treeCPU(1 << 30); err == nil {
		t.Fatal("want an error for a process that does not exist")
	}
}

// unusedAddr returns a loopback address nothing listens on for the rest of
// the test: its port stays bound to a socket that never listens, so no
// other listener on the machine can take it (a port freeAddr returns is
// free only until someone else binds it) and a connection is refused.
func unusedAddr(t *testing.T) string {
	t.Helper()
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Close(fd) })
	if err := syscall.Bind(fd, &syscall.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatal(err)
	}
	sa, err := syscall.Getsockname(fd)
	if err != nil {
		t.Fatal(err)
	}
	in4, ok := sa.(*syscall.SockaddrInet4)
	if !ok {
		t.Fatalf("socket name %T", sa)
	}
	return "127.0.0.1:" + strconv.Itoa(in4.Port)
}
