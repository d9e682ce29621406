package main

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"

	"edge/bench/internal/proc"
)

// Proc is a process the runner started, in a process group of its own so
// that stopping it also stops the children it forked (nginx's worker,
// Varnish's cache process) and nothing else.
type Proc struct{ *proc.Proc }

// startProc starts argv pinned to cpu (when taskset is given and cpu ≥ 0),
// its output in logPath.
func startProc(name, taskset string, cpu int, logPath string, argv ...string) (*Proc, error) {
	if taskset != "" && cpu >= 0 {
		argv = append([]string{taskset, "-c", strconv.Itoa(cpu)}, argv...)
	}
	p, err := proc.Start(name, logPath, true, argv...)
	if err != nil {
		return nil, err
	}
	return &Proc{p}, nil
}

// Stop sends SIGTERM to the process group, then SIGKILL after grace.
func (p *Proc) Stop(grace time.Duration) {
	if p.Exited() {
		return
	}
	pgid := p.Pid()
	_ = syscall.Kill(-pgid, syscall.SIGTERM)
	select {
	case <-p.Done():
	case <-time.After(grace):
		_ = syscall.Kill(-pgid, syscall.SIGKILL)
		<-p.Done()
	}
	// Children that outlived their parent (same group) go too; wait until
	// they are gone, so that the next run finds its CPUs and ports free.
	_ = syscall.Kill(-pgid, syscall.SIGKILL)
	for deadline := time.Now().Add(grace); groupAlive(pgid) && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
	}
}

// waitListening waits until addr accepts connections, the process exits
// or timeout passes.
func (p *Proc) waitListening(addr string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		if p.Exited() {
			return fmt.Errorf("%s exited (%v); its output:\n%s", p.Name, p.Err(), p.LogTail(15))
		}
		c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err == nil {
			c.Close()
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s not listening on %s after %v; its output:\n%s", p.Name, addr, timeout, p.LogTail(15))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// clockTick is USER_HZ, the unit of utime and stime in /proc/<pid>/stat:
// 100 on every Linux architecture Go supports.
const clockTick = 10 * time.Millisecond

// CPU returns the CPU time (user + system) used so far by the process and
// every descendant still running.
func (p *Proc) CPU() (time.Duration, error) {
	return treeCPU(p.Pid())
}

// procStat is what the runner reads from /proc/<pid>/stat.
type procStat struct {
	state      byte  // R, S, D, Z...
	ppid, pgrp int64 // parent and process group
	ticks      int64 // utime + stime, in clock ticks
}

// readProcs returns the stat of every process, by pid.
func readProcs() (map[int]procStat, error) {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil, fmt.Errorf("read /proc: %w", err)
	}
	stats := map[int]procStat{}
	for _, e := range entries {
		n, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue // gone meanwhile
		}
		if st, err := parseStat(b); err == nil {
			stats[n] = st
		}
	}
	return stats, nil
}

// treeCPU sums utime+stime of pid and its living descendants.
func treeCPU(pid int) (time.Duration, error) {
	stats, err := readProcs()
	if err != nil {
		return 0, err
	}
	root, ok := stats[pid]
	if !ok {
		return 0, fmt.Errorf("process %d not found", pid)
	}
	total := root.ticks
	in := map[int]bool{pid: true}
	// Descendants: repeat until no process joins (trees here are shallow).
	for grew := true; grew; {
		grew = false
		for n, s := range stats {
			if !in[n] && in[int(s.ppid)] {
				in[n] = true
				total += s.ticks
				grew = true
			}
		}
	}
	return time.Duration(total) * clockTick, nil
}

// groupAlive reports whether a process of group pgid still runs (zombies,
// which wait for their parent to reap them, do not count).
func groupAlive(pgid int) bool {
	stats, err := readProcs()
	if err != nil {
		return false
	}
	for _, st := range stats {
		if int(st.pgrp) == pgid && st.state != 'Z' {
			return true
		}
	}
	return false
}

var errStat = errors.New("malformed /proc stat line")

// parseStat reads /proc/<pid>/stat. The command name, in parentheses, may
// hold spaces and parentheses itself, so fields are counted from the last
// ')'.
func parseStat(b []byte) (procStat, error) {
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return procStat{}, errStat
	}
	f := strings.Fields(string(b[i+1:]))
	// f[0] is field 3 (state); ppid is field 4, pgrp 5, utime 14, stime 15.
	if len(f) < 13 || len(f[0]) != 1 {
		return procStat{}, errStat
	}
	ppid, err1 := strconv.ParseInt(f[1], 10, 64)
	pgrp, err2 := strconv.ParseInt(f[2], 10, 64)
	utime, err3 := strconv.ParseInt(f[11], 10, 64)
	stime, err4 := strconv.ParseInt(f[12], 10, 64)
	if err := errors.Join(err1, err2, err3, err4); err != nil {
		return procStat{}, fmt.Errorf("%w: %w", errStat, err)
	}
	return procStat{state: f[0][0], ppid: ppid, pgrp: pgrp, ticks: utime + stime}, nil
}
