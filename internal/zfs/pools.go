package zfs

import (
	"github.com/nixgen/nixgen/internal/rules"

	"bytes"
	"context"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Pool is one imported pool as `zpool list` and `zpool status` report it.
type Pool struct {
	Name      string
	Health    string // ONLINE, DEGRADED, FAULTED, ...
	Size      uint64 // bytes; rounded when zpool cannot print exact numbers (no -p)
	Allocated uint64
	Free      uint64
	// Scrub is the last completed scrub, nil when none is known (never
	// scrubbed, one in progress, or a resilver replaced the record).
	Scrub *Scrub
}

// Scrub is the outcome of a completed scrub.
type Scrub struct {
	End    time.Time
	Errors int64
}

// poolListProps are the columns Pools reads, in order.
const poolListProps = "name,size,allocated,free,health"

// Pools reads every imported pool in two processes whatever their number
// (three where zpool list has no -p): `zpool list` for sizes and health,
// `zpool status` for the scrub record. A pool that disappears between the
// two has no scrub record; a status error with no usable output is an
// error.
func (r *Runner) Pools(ctx context.Context) ([]Pool, error) {
	exact := !r.noPoolListP.Load()
	var out []byte
	var err error
	if exact {
		out, err = r.ZPoolCmd(ctx, "list", "-H", "-p", "-o", poolListProps)
		if usageRejected(err, "p") { // zfs-fuse
			r.noPoolListP.Store(true)
			exact = false
		}
	}
	if !exact {
		out, err = r.ZPoolCmd(ctx, "list", "-H", "-o", poolListProps)
	}
	if err != nil {
		return nil, err
	}
	pools, err := ParsePoolList(out)
	if err != nil || len(pools) == 0 {
		return pools, err
	}
	status, err := r.ZPoolCmd(ctx, "status")
	if err != nil {
		// A pool exported or destroyed between the two calls makes zpool
		// status fail after it printed the others.
		var e *Error
		if !errors.As(err, &e) || len(e.Stdout) == 0 {
			return nil, err
		}
		status = e.Stdout
	}
	scrubs := ParsePoolStatus(status, time.Local)
	for i := range pools {
		pools[i].Scrub = scrubs[pools[i].Name]
	}
	return pools, nil
}

// ParsePoolList parses `zpool list -H [-p] -o name,size,allocated,free,health`.
// Sizes may be exact (-p) or rounded ("250M", "1.5T").
func ParsePoolList(out []byte) ([]Pool, error) {
	var pools []Pool
	for i, line := range bytes.Split(out, []byte("\n")) {
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		f := strings.Split(string(line), "\t")
		if len(f) != 5 {
			return nil, fmt.Errorf("zpool list output line %d: want 5 tab-separated fields, got %q", i+1, line)
		}
		p := Pool{Name: f[0], Health: f[4]}
		for j, dst := range []*uint64{&p.Size, &p.Allocated, &p.Free} {
			v := f[j+1]
			if v == "-" { // a faulted pool may not know its sizes
				continue
			}
			n, ok := rules.ZFSSize(v)
			if !ok {
				return nil, fmt.Errorf("zpool list output line %d: unparsable size %q", i+1, v)
			}
			*dst = n
		}
		pools = append(pools, p)
	}
	return pools, nil
}

var (
	// OpenZFS: "scan: scrub repaired 0B in 00:00:01 with 0 errors on Sun Nov 30 00:24:01 2025".
	openZFSScrub = regexp.MustCompile(`^scrub repaired \S+ in .* with (\d+) errors on (.+)$`)
	// zfs-fuse (and old OpenSolaris-derived zpool): "scrub: scrub completed
	// after 0h0m with 0 errors on Tue Dec  1 22:56:10 2026".
	fuseScrub = regexp.MustCompile(`^scrub completed after .* with (\d+) errors on (.+)$`)
)

// ParsePoolStatus returns the last completed scrub of each pool in `zpool
// status` output, in the OpenZFS format ("scan: scrub repaired ...") or
// the zfs-fuse one ("scrub: scrub completed ..."). zpool prints the end
// time in local time, ctime style; loc is that zone. Pools without a
// completed scrub are absent.
func ParsePoolStatus(out []byte, loc *time.Location) map[string]*Scrub {
	scrubs := map[string]*Scrub{}
	pool := ""
	for _, line := range strings.Split(string(out), "\n") {
		key, val, ok := strings.Cut(strings.TrimSpace(line), ":")
		if !ok {
			continue
		}
		val = strings.TrimSpace(val)
		switch key {
		case "pool":
			pool = val
		case "scan", "scrub":
			if pool == "" {
				continue
			}
			m := openZFSScrub.FindStringSubmatch(val)
			if m == nil {
				m = fuseScrub.FindStringSubmatch(val)
			}
			if m == nil {
				continue
			}
			errs, err1 := strconv.ParseInt(m[1], 10, 64)
			// ctime pads the day with a space ("Dec  1"): compare on single spaces.
			end, err2 := time.ParseInLocation("Mon Jan 2 15:04:05 2006", strings.Join(strings.Fields(m[2]), " "), loc)
			if err1 == nil && err2 == nil {
				scrubs[pool] = &Scrub{End: end, Errors: errs}
			}
		}
	}
	return scrubs
}
