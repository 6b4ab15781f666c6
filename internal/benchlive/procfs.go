package benchlive

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"time"
)

// ErrProcFormat is returned, wrapped, when a /proc file does not read as expected.
var ErrProcFormat = errors.New("benchlive: unexpected /proc format")

// ProcSample is what /proc tells of one process at one moment.
type ProcSample struct {
	At      time.Time
	CPU     time.Duration // user + system time of all its threads
	RSS     int64         // resident set, bytes (VmRSS)
	PeakRSS int64         // highest resident set so far, bytes (VmHWM)
}

// ParseStatCPU returns utime + stime of a /proc/PID/stat line, in clock ticks.
// The command name (field 2) is in parentheses and may hold spaces and
// parentheses itself, so the fields are counted from the last ')'.
func ParseStatCPU(stat []byte) (int64, error) {
	end := bytes.LastIndexByte(stat, ')')
	if end < 0 {
		return 0, fmt.Errorf("%w: stat has no command name", ErrProcFormat)
	}
	// After the name: state (field 3), ppid (4), …, utime (14), stime (15).
	fields := strings.Fields(string(stat[end+1:]))
	const utime, stime = 14 - 3, 15 - 3
	if len(fields) <= stime {
		return 0, fmt.Errorf("%w: stat has %d fields after the name", ErrProcFormat, len(fields))
	}
	u, err := strconv.ParseInt(fields[utime], 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%w: utime %q", ErrProcFormat, fields[utime])
	}
	s, err := strconv.ParseInt(fields[stime], 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%w: stime %q", ErrProcFormat, fields[stime])
	}
	return u + s, nil
}

// ParseStatusRSS returns VmRSS and VmHWM of a /proc/PID/status file, in bytes.
func ParseStatusRSS(status []byte) (rss, peak int64, err error) {
	found := 0
	for _, line := range strings.Split(string(status), "\n") {
		key, val, ok := strings.Cut(line, ":")
		if !ok || (key != "VmRSS" && key != "VmHWM") {
			continue
		}
		f := strings.Fields(val)
		if len(f) != 2 || f[1] != "kB" {
			return 0, 0, fmt.Errorf("%w: %s %q", ErrProcFormat, key, strings.TrimSpace(val))
		}
		kb, perr := strconv.ParseInt(f[0], 10, 64)
		if perr != nil {
			return 0, 0, fmt.Errorf("%w: %s %q", ErrProcFormat, key, f[0])
		}
		if key == "VmRSS" {
			rss = kb << 10
		} else {
			peak = kb << 10
		}
		found++
	}
	if found != 2 {
		return 0, 0, fmt.Errorf("%w: status lacks VmRSS or VmHWM", ErrProcFormat)
	}
	return rss, peak, nil
}

// ParseMachineCPU returns the busy and total clock ticks of all CPUs from
// /proc/stat's "cpu" line; idle and iowait count as not busy.
func ParseMachineCPU(stat []byte) (busy, total int64, err error) {
	line, _, _ := bytes.Cut(stat, []byte("\n"))
	f := strings.Fields(string(line))
	if len(f) < 6 || f[0] != "cpu" {
		return 0, 0, fmt.Errorf("%w: /proc/stat does not start with the cpu line", ErrProcFormat)
	}
	var idle int64
	for i, s := range f[1:] {
		v, perr := strconv.ParseInt(s, 10, 64)
		if perr != nil {
			return 0, 0, fmt.Errorf("%w: /proc/stat cpu field %q", ErrProcFormat, s)
		}
		// guest and guest_nice (fields 9 and 10) are already in user and nice.
		if i >= 8 {
			break
		}
		total += v
		if i == 3 || i == 4 { // idle, iowait
			idle += v
		}
	}
	return total - idle, total, nil
}

// ReadProc samples process pid.
func ReadProc(pid int) (ProcSample, error) {
	at := time.Now()
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return ProcSample{}, fmt.Errorf("benchlive: %w", err)
	}
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return ProcSample{}, fmt.Errorf("benchlive: %w", err)
	}
	ticks, err := ParseStatCPU(stat)
	if err != nil {
		return ProcSample{}, err
	}
	rss, peak, err := ParseStatusRSS(status)
	if err != nil {
		return ProcSample{}, err
	}
	return ProcSample{At: at, CPU: time.Duration(ticks) * clockTick(), RSS: rss, PeakRSS: peak}, nil
}

// machineSample is the machine's CPU counters at one moment.
type machineSample struct {
	at           time.Time
	busy, total  int64 // clock ticks, all CPUs
	load1, load5 string
}

func readMachine() (machineSample, error) {
	stat, err := os.ReadFile("/proc/stat")
	if err != nil {
		return machineSample{}, fmt.Errorf("benchlive: %w", err)
	}
	busy, total, err := ParseMachineCPU(stat)
	if err != nil {
		return machineSample{}, err
	}
	m := machineSample{at: time.Now(), busy: busy, total: total}
	if la, err := os.ReadFile("/proc/loadavg"); err == nil {
		if f := strings.Fields(string(la)); len(f) >= 2 {
			m.load1, m.load5 = f[0], f[1]
		}
	}
	return m, nil
}

// busyCores is the mean number of CPUs busy between a and b (all processes).
func busyCores(a, b machineSample) float64 {
	wall := b.at.Sub(a.at).Seconds()
	if wall <= 0 {
		return 0
	}
	return float64(b.busy-a.busy) * clockTick().Seconds() / wall
}

var tick struct {
	once sync.Once
	d    time.Duration
}

// clockTick is the length of one /proc clock tick (getconf CLK_TCK; 100 Hz
// on every Linux this runs on, and the fallback).
func clockTick() time.Duration {
	tick.once.Do(func() {
		tick.d = 10 * time.Millisecond
		out, err := exec.Command("getconf", "CLK_TCK").Output()
		if err != nil {
			return
		}
		if hz, err := strconv.Atoi(strings.TrimSpace(string(out))); err == nil && hz > 0 {
			tick.d = time.Second / time.Duration(hz)
		}
	})
	return tick.d
}
