package zfs

import (
	"bytes"
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// Prop is one property of one dataset as `zfs get -H -p` reports it: the
// value in machine form (sizes in bytes) and its source ("local", "default",
// "inherited from X", "received", or "-" for read-only and unset user
// properties).
type Prop struct {
	Value  string
	Source string
}

// Local reports whether the property is set locally on the dataset. A
// "received" value (from zfs receive) is not local: a later receive may
// replace it.
func (p Prop) Local() bool { return p.Source == "local" }

// SetTo reports whether prop is set locally to want, compared as `zfs get
// -p` prints values (Normalize): setting it again would change nothing.
func (p Prop) SetTo(prop, want string) bool {
	return p.Local() && Normalize(prop, p.Value) == Normalize(prop, want)
}

// Dataset is the properties read for one dataset.
type Dataset struct {
	Name  string
	Props map[string]Prop
}

// Type is the dataset's "type" property when it was read ("filesystem",
// "volume", "snapshot"), else "".
func (d *Dataset) Type() string { return d.Props["type"].Value }

// Tree maps dataset names to what was read about them.
type Tree map[string]*Dataset

// Names returns the dataset names, sorted.
func (t Tree) Names() []string {
	names := make([]string, 0, len(t))
	for n := range t {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// GetTree reads props of root and of every filesystem and volume below it in
// one `zfs get -H -p -r` call, whatever the number of datasets. Snapshots are
// left out. When root does not exist the error satisfies NotExist.
func (r *Runner) GetTree(ctx context.Context, root string, props ...string) (Tree, error) {
	if len(props) == 0 {
		return nil, fmt.Errorf("zfs: GetTree needs at least one property")
	}
	args := []string{"get", "-H", "-p", "-r", "-o", "name,property,value,source"}
	list := strings.Join(props, ",")

	// OpenZFS can leave snapshots out itself (-t), which matters once sanoid
	// keeps dozens per dataset; zfs-fuse rejects -t, so fall back to filtering
	// here and remember that for the rest of this Runner's life.
	if !r.noTypeFilter.Load() {
		out, err := r.ZFSCmd(ctx, append(args, "-t", "filesystem,volume", list, root)...)
		if err == nil {
			return ParseGet(out)
		}
		if !usageRejected(err, "t") {
			return nil, err
		}
		r.noTypeFilter.Store(true)
	}
	out, err := r.ZFSCmd(ctx, append(args, list, root)...)
	if err != nil {
		return nil, err
	}
	t, err := ParseGet(out)
	if err != nil {
		return nil, err
	}
	for name := range t {
		if strings.Contains(name, "@") {
			delete(t, name)
		}
	}
	return t, nil
}

// usageRejected reports whether zfs refused the option (zfs-fuse prints
// "invalid option 't'" and exits 2).
func usageRejected(err error, opt string) bool {
	e, ok := err.(*Error)
	return ok && e.ExitCode == 2 && strings.Contains(e.Stderr, "invalid option '"+opt+"'")
}

// Get reads props of the named datasets (and snapshots) in one call.
func (r *Runner) Get(ctx context.Context, names []string, props ...string) (Tree, error) {
	if len(names) == 0 || len(props) == 0 {
		return nil, fmt.Errorf("zfs: Get needs dataset names and properties")
	}
	args := []string{"get", "-H", "-p", "-o", "name,property,value,source", strings.Join(props, ",")}
	out, err := r.ZFSCmd(ctx, append(args, names...)...)
	if err != nil {
		return nil, err
	}
	return ParseGet(out)
}

// ParseGet parses `zfs get -H -p -o name,property,value,source` output.
func ParseGet(out []byte) (Tree, error) {
	t := Tree{}
	for i, line := range bytes.Split(out, []byte("\n")) {
		if len(line) == 0 {
			continue
		}
		f := strings.Split(string(line), "\t")
		if len(f) < 4 {
			return nil, fmt.Errorf("zfs get output line %d: want 4 tab-separated fields, got %q", i+1, line)
		}
		// A user property's value may itself contain tabs: name and property
		// come first, source last, the value is everything between.
		name, prop, source := f[0], f[1], f[len(f)-1]
		value := strings.Join(f[2:len(f)-1], "\t")
		d := t[name]
		if d == nil {
			d = &Dataset{Name: name, Props: map[string]Prop{}}
			t[name] = d
		}
		d.Props[prop] = Prop{Value: value, Source: source}
	}
	return t, nil
}

// Snapshot is one snapshot of a dataset.
type Snapshot struct {
	Name      string // "pool/ds@snap"
	CreateTXG uint64 // orders snapshots exactly (creation has 1 s resolution)
	Creation  int64  // unix seconds
}

// Snapshots lists the snapshots of dataset (not of its children), oldest
// first, in one call.
func (r *Runner) Snapshots(ctx context.Context, dataset string) ([]Snapshot, error) {
	out, err := r.ZFSCmd(ctx, "get", "-H", "-p", "-d", "1", "-o", "name,property,value,source", "createtxg,creation", dataset)
	if err != nil {
		return nil, err
	}
	t, err := ParseGet(out)
	if err != nil {
		return nil, err
	}
	var snaps []Snapshot
	for name, d := range t {
		if !strings.HasPrefix(name, dataset+"@") {
			continue
		}
		txg, err1 := strconv.ParseUint(d.Props["createtxg"].Value, 10, 64)
		cr, err2 := strconv.ParseInt(d.Props["creation"].Value, 10, 64)
		if err1 != nil || err2 != nil {
			return nil, fmt.Errorf("zfs get: snapshot %s: unparsable createtxg %q or creation %q",
				name, d.Props["createtxg"].Value, d.Props["creation"].Value)
		}
		snaps = append(snaps, Snapshot{Name: name, CreateTXG: txg, Creation: cr})
	}
	sort.Slice(snaps, func(i, j int) bool { return snaps[i].CreateTXG < snaps[j].CreateTXG })
	return snaps, nil
}

// PoolHealth returns the pool's health ("ONLINE", "DEGRADED", "FAULTED", ...)
// from `zpool list -H -o health`. A pool that is not imported gives an error
// that satisfies NotExist.
func (r *Runner) PoolHealth(ctx context.Context, pool string) (string, error) {
	out, err := r.ZPoolCmd(ctx, "list", "-H", "-o", "health", pool)
	if err != nil {
		return "", err
	}
	return strings.TrimSpace(string(out)), nil
}

// Create runs `zfs create [-p] -o k=v ... name`, options sorted by name.
// parents (-p) also creates missing ancestors, with default properties.
func (r *Runner) Create(ctx context.Context, name string, props map[string]string, parents bool) error {
	args := []string{"create"}
	if parents {
		args = append(args, "-p")
	}
	for _, k := range sortedKeys(props) {
		args = append(args, "-o", k+"="+props[k])
	}
	_, err := r.ZFSCmd(ctx, append(args, name)...)
	return err
}

// Set runs `zfs set prop=value name`. One property per call: zfs-fuse and
// older OpenZFS accept only one.
func (r *Runner) Set(ctx context.Context, name, prop, value string) error {
	_, err := r.ZFSCmd(ctx, "set", prop+"="+value, name)
	return err
}

// SetProps sets each property with its own Set call, in name order, and
// stops at the first failure.
func (r *Runner) SetProps(ctx context.Context, name string, props map[string]string) error {
	for _, k := range sortedKeys(props) {
		if err := r.Set(ctx, name, k, props[k]); err != nil {
			return err
		}
	}
	return nil
}

// Inherit runs `zfs inherit prop name` (removes a local value).
func (r *Runner) Inherit(ctx context.Context, name, prop string) error {
	_, err := r.ZFSCmd(ctx, "inherit", prop, name)
	return err
}

// TakeSnapshot runs `zfs snapshot [-o k=v ...] dataset@snap`.
func (r *Runner) TakeSnapshot(ctx context.Context, snap string, props map[string]string) error {
	args := []string{"snapshot"}
	for _, k := range sortedKeys(props) {
		args = append(args, "-o", k+"="+props[k])
	}
	_, err := r.ZFSCmd(ctx, append(args, snap)...)
	return err
}

// Rollback runs `zfs rollback [-r] snap`. destroyLater (-r) destroys the
// snapshots taken after snap; without it zfs refuses when there are any.
func (r *Runner) Rollback(ctx context.Context, snap string, destroyLater bool) error {
	args := []string{"rollback"}
	if destroyLater {
		args = append(args, "-r")
	}
	_, err := r.ZFSCmd(ctx, append(args, snap)...)
	return err
}

// Hold runs `zfs hold tag snap`: the snapshot cannot be destroyed until released.
func (r *Runner) Hold(ctx context.Context, tag, snap string) error {
	_, err := r.ZFSCmd(ctx, "hold", tag, snap)
	return err
}

// Release runs `zfs release tag snap`.
func (r *Runner) Release(ctx context.Context, tag, snap string) error {
	_, err := r.ZFSCmd(ctx, "release", tag, snap)
	return err
}

// Rename runs `zfs rename from to`.
func (r *Runner) Rename(ctx context.Context, from, to string) error {
	_, err := r.ZFSCmd(ctx, "rename", from, to)
	return err
}

// Mount runs `zfs mount name`.
func (r *Runner) Mount(ctx context.Context, name string) error {
	_, err := r.ZFSCmd(ctx, "mount", name)
	return err
}

// Unmount runs `zfs unmount name`.
func (r *Runner) Unmount(ctx context.Context, name string) error {
	_, err := r.ZFSCmd(ctx, "unmount", name)
	return err
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
