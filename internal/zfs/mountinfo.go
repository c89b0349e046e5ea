package zfs

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// MountSource returns the source (for ZFS: the dataset name) of the
// filesystem mounted at exactly path, from /proc/self/mountinfo; "" when
// nothing is mounted there. With stacked mounts the topmost one counts.
// It lets callers make sure a directory really is the dataset before they
// write into it or change its owner.
func MountSource(path string) (string, error) {
	m, err := Mounts()
	if err != nil {
		return "", err
	}
	return m[path], nil
}

// Mounts maps every mount point to its source (topmost mount wins), read
// once from /proc/self/mountinfo: callers checking many datasets should use
// it rather than MountSource, which rereads the table each time.
func Mounts() (map[string]string, error) {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return nil, err
	}
	defer f.Close()
	mounts := map[string]string{}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		// id parent maj:min root mountpoint options [optional...] - fstype source superopts
		fields := strings.Fields(sc.Text())
		if len(fields) < 10 {
			continue
		}
		sep := -1
		for i := 6; i < len(fields); i++ {
			if fields[i] == "-" {
				sep = i
				break
			}
		}
		if sep < 0 || sep+2 >= len(fields) {
			continue
		}
		mounts[unescapeMount(fields[4])] = unescapeMount(fields[sep+2])
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("reading /proc/self/mountinfo: %w", err)
	}
	return mounts, nil
}

// unescapeMount undoes the kernel's octal escapes (\040 for space, ...).
func unescapeMount(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+4 <= len(s) {
			if n, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(n))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}
