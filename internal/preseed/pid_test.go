package preseed

import (
	"fmt"
	"os"
	"strings"
)

// pidAlive checks /proc/<pid>; a zombie counts as gone.
func pidAlive(pid int) bool {
	st, exists := procStat(pid)
	return exists && (st == nil || st[0] != "Z")
}

// procStat returns the fields of /proc/<pid>/stat that follow the
// parenthesised command name (which may contain spaces): the state first.
// exists is false when there is no such process.
func procStat(pid int) (fields []string, exists bool) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return nil, false
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return nil, true
	}
	return strings.Fields(s[i+1:]), true
}
