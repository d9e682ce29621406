package main

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// cpuTimes is one CPU's line of /proc/stat: busy and total time.
type cpuTimes struct{ busy, total time.Duration }

// readCPUTimes returns the busy and total time of each CPU so far. Busy
// counts user, nice, system, irq, softirq and steal (time the hypervisor
// gave to another guest); idle and iowait are the rest.
func readCPUTimes() (map[int]cpuTimes, error) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return nil, fmt.Errorf("read /proc/stat: %w", err)
	}
	return parseCPUTimes(string(b))
}

func parseCPUTimes(s string) (map[int]cpuTimes, error) {
	out := map[int]cpuTimes{}
	for _, line := range strings.Split(s, "\n") {
		f := strings.Fields(line)
		if len(f) < 9 || !strings.HasPrefix(f[0], "cpu") || f[0] == "cpu" {
			continue
		}
		n, err := strconv.Atoi(f[0][3:])
		if err != nil {
			return nil, fmt.Errorf("/proc/stat: %q: %w", f[0], err)
		}
		var v [8]int64
		for i := range v {
			if v[i], err = strconv.ParseInt(f[i+1], 10, 64); err != nil {
				return nil, fmt.Errorf("/proc/stat: %s: %w", f[0], err)
			}
		}
		// user nice system idle iowait irq softirq steal
		busy := v[0] + v[1] + v[2] + v[5] + v[6] + v[7]
		out[n] = cpuTimes{busy: time.Duration(busy) * clockTick, total: time.Duration(busy+v[3]+v[4]) * clockTick}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("/proc/stat: no per-CPU lines")
	}
	return out, nil
}

// noise is the share of the benchmark's CPUs that went to anything but the
// benchmark between two readings: ours is the CPU time of the server, the
// load generator and the origin meanwhile. Loopback networking done in
// interrupt context counts as noise too, a few percent.
func noise(before, after map[int]cpuTimes, cpus []int, ours time.Duration) float64 {
	var busy, total time.Duration
	for _, c := range cpus {
		busy += after[c].busy - before[c].busy
		total += after[c].total - before[c].total
	}
	if total <= 0 {
		return 0
	}
	return max(0, float64(busy-ours)/float64(total))
}
