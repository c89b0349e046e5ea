package zfs

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Operations that preseed needs beyond what datasets apply uses.

// ListChildren reads the filesystems directly below parent (and parent
// itself) with the given properties in one `zfs list -H -d 1` call. Unlike
// `zfs get -r` it never lists snapshots, which sanoid keeps by the hundred,
// so a preseed that only has to notice "already complete" stays one process.
// Values are as `zfs list` prints them; an unset user property is "-".
func (r *Runner) ListChildren(ctx context.Context, parent string, props ...string) (map[string]map[string]string, error) {
	if len(props) == 0 {
		return nil, fmt.Errorf("zfs: ListChildren needs at least one property")
	}
	out, err := r.ZFSCmd(ctx, "list", "-H", "-d", "1", "-o", "name,"+strings.Join(props, ","), parent)
	if err != nil {
		return nil, err
	}
	return parseList(out, props)
}

func parseList(out []byte, props []string) (map[string]map[string]string, error) {
	res := map[string]map[string]string{}
	for i, line := range bytes.Split(out, []byte("\n")) {
		if len(line) == 0 {
			continue
		}
		f := strings.Split(string(line), "\t")
		if len(f) != len(props)+1 {
			return nil, fmt.Errorf("zfs list output line %d: want %d tab-separated fields, got %q", i+1, len(props)+1, line)
		}
		m := make(map[string]string, len(props))
		for j, p := range props {
			m[p] = f[j+1]
		}
		res[f[0]] = m
	}
	return res, nil
}

// DestroyRecursive runs `zfs destroy -r name`: the dataset and its snapshots.
// Preseed uses it only on datasets it created itself (a partial receive, or
// the empty dataset it set aside once the restored one is in place).
func (r *Runner) DestroyRecursive(ctx context.Context, name string) error {
	_, err := r.ZFSCmd(ctx, "destroy", "-r", name)
	return err
}

// Busy reports whether zfs refused because the dataset is in use — on
// zfs-fuse this also happens for a moment after an unmount, while the
// kernel drops its references.
func Busy(err error) bool {
	var e *Error
	return errors.As(err, &e) && strings.Contains(e.Stderr, "is busy")
}

// RetryBusy repeats an operation (a rename, destroy, unmount) that zfs
// refuses as busy, for about five seconds, and returns its last error.
func RetryBusy(ctx context.Context, op func() error) error {
	var err error
	for i := 0; i < 25; i++ {
		if err = op(); err == nil || !Busy(err) {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(200 * time.Millisecond):
		}
	}
	return err
}
